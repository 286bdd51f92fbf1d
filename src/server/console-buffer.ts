// The console of a running job: every line kept for the result file (up to a bound on memory and one
// on lines, oldest dropped beyond them and counted), and fanned out to observers as it arrives.

/**
 * What a held line costs beyond its bytes: the line object, its bigint, the Uint8Array and its
 * ArrayBuffer, and the array slot (a few hundred bytes for a one-byte line).
 * Counting only bytes let 10 M one-byte lines take gigabytes under a 128 MiB cap.
 */
export const LINE_OVERHEAD_BYTES = 256;
export const DEFAULT_CONSOLE_MAX_BYTES = 128 * 1024 * 1024;
export const DEFAULT_CONSOLE_MAX_LINES = 200_000;

export interface ConsoleLine {
  deltaNs: bigint;
  line: Uint8Array;
}

export interface ConsoleObserver {
  line(entry: ConsoleLine): void;
  end(deltaNs: bigint, result: string): void;
}

const DROPPED: ConsoleLine = { deltaNs: 0n, line: new Uint8Array(0) };

export class ConsoleBuffer {
  readonly lines: ConsoleLine[] = [];
  private bytes = 0;
  private head = 0;
  dropped = 0;
  private readonly observers = new Set<ConsoleObserver>();
  ended?: { deltaNs: bigint; result: string };

  constructor(
    private readonly maxBytes = DEFAULT_CONSOLE_MAX_BYTES,
    private readonly maxLines = DEFAULT_CONSOLE_MAX_LINES,
  ) {}

  append(entry: ConsoleLine): void {
    // A line decoded as a view into a larger frame buffer would keep that whole buffer alive.
    if (entry.line.byteOffset !== 0 || entry.line.buffer.byteLength !== entry.line.byteLength) entry = { deltaNs: entry.deltaNs, line: entry.line.slice() };
    this.lines.push(entry);
    this.bytes += entry.line.byteLength + LINE_OVERHEAD_BYTES;
    while ((this.bytes > this.maxBytes || this.lines.length - this.head > this.maxLines) && this.head < this.lines.length - 1) {
      const old = this.lines[this.head]!;
      this.bytes -= old.line.byteLength + LINE_OVERHEAD_BYTES;
      this.lines[this.head] = DROPPED;
      this.head++;
      this.dropped++;
    }
    if (this.head > 4096 && this.head * 2 > this.lines.length) {
      this.lines.splice(0, this.head);
      this.head = 0;
    }
    for (const o of this.observers) o.line(entry);
  }

  /** Lines still held, oldest first. */
  held(): ConsoleLine[] {
    return this.head === 0 ? this.lines : this.lines.slice(this.head);
  }

  end(deltaNs: bigint, result: string): void {
    this.ended = { deltaNs, result };
    for (const o of this.observers) o.end(deltaNs, result);
    this.observers.clear();
  }

  /** A requeued run starts its console again; observers stay attached. */
  reset(): void {
    this.lines.length = 0;
    this.head = 0;
    this.bytes = 0;
    this.dropped = 0;
  }

  /** Sends the backlog to the observer, then every new line; returns the unsubscribe function. */
  subscribe(observer: ConsoleObserver): () => void {
    for (const entry of this.held()) observer.line(entry);
    if (this.ended) {
      observer.end(this.ended.deltaNs, this.ended.result);
      return () => {};
    }
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  observerCount(): number {
    return this.observers.size;
  }
}
