// Streams a run's console to one observing client. A slow client is bounded: beyond a number of
// waiting lines the oldest are dropped, counted and reported in the stream; the result line is never dropped.
import type { CmdSocket } from '../protocol/cmd-socket.ts';
import type { Cmd, Uuid } from '../protocol/types.ts';
import type { ConsoleObserver } from './console-buffer.ts';

export const OBSERVER_MAX_QUEUED_LINES = 10_000;

const enc = new TextEncoder();

export class ObserveSession implements ConsoleObserver {
  private readonly queue: Cmd[] = [];
  private dropped = 0;
  private last?: Cmd;
  private wake?: () => void;
  private lastDelta = 0n;

  constructor(
    private readonly sock: CmdSocket,
    private readonly uuid: Uuid,
    private readonly maxQueued: number = OBSERVER_MAX_QUEUED_LINES,
  ) {}

  line(e: { deltaNs: bigint; line: Uint8Array }): void {
    if (this.last) return;
    if (this.queue.length >= this.maxQueued) {
      this.queue.shift();
      this.dropped++;
    }
    this.lastDelta = e.deltaNs;
    this.queue.push({ type: 'output', uuid: this.uuid, line: e.line, timestamp: e.deltaNs });
    this.wake?.();
  }

  end(deltaNs: bigint, result: string): void {
    this.last = { type: 'output', uuid: this.uuid, line: enc.encode(result), timestamp: deltaNs };
    this.wake?.();
  }

  /** Sends until the result line went out; rejects when the client goes away. */
  async pump(): Promise<void> {
    let gone = false;
    this.sock.closed.then(() => {
      gone = true;
      this.wake?.();
    });
    for (;;) {
      if (gone) throw new Error('observer went away');
      if (this.dropped > 0) {
        const n = this.dropped;
        this.dropped = 0;
        await this.sock.send({
          type: 'output',
          uuid: this.uuid,
          line: enc.encode(`builder: ${n} console line${n === 1 ? '' : 's'} dropped, the observer is too slow`),
          timestamp: this.lastDelta,
        });
        continue;
      }
      const next = this.queue.shift();
      if (next) {
        await this.sock.send(next);
        continue;
      }
      if (this.last) {
        await this.sock.send(this.last);
        return;
      }
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }
}
