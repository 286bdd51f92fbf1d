// Console lines to the server as Output frames, written in batches: lines that arrive together (one read from the
// job's pipe holds many) go out in one socket write instead of one write, and one wait, per line. Frames are
// written in order on the same socket the CmdSocket uses, so flush() before the CmdSocket sends JobFinished keeps
// the conversation in order.
import type { CmdSocket } from '../protocol/cmd-socket.ts';
import { encodeCmd } from '../protocol/cmd-codec.ts';
import { frame } from '../protocol/framing.ts';
import type { Uuid } from '../protocol/types.ts';

export class OutputStream {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  /** When the last batch was written (performance.now()), if one was. */
  private lastWriteAt: number | undefined;

  constructor(
    private readonly socket: CmdSocket,
    private readonly uuid: Uuid,
    private readonly onError: (error: Error) => void,
    /** A batch is written at once when it reaches this size. */
    private readonly batchBytes = 256 * 1024,
  ) {}

  push(line: Uint8Array): void {
    const framed = frame(encodeCmd({ type: 'output', uuid: this.uuid, line }));
    this.pending.push(framed);
    this.pendingBytes += framed.length;
    if (this.pendingBytes >= this.batchBytes) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes what is pending now. */
  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const batch = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    const raw = this.socket.socket;
    if (raw.destroyed || raw.writableEnded) {
      this.onError(new Error('connection closed while sending output'));
      return;
    }
    this.lastWriteAt = performance.now();
    raw.write(batch, (err) => {
      if (err) this.onError(err);
    });
  }

  /** Resolves once `ms` have passed since the last batch was written (at once when none was written that recently). */
  async quietFor(ms: number): Promise<void> {
    const wait = this.lastWriteAt === undefined ? 0 : this.lastWriteAt + ms - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
