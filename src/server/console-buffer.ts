// The console of a running job: every line kept for the result file (up to a byte bound, oldest
// dropped beyond it and counted), and fanned out to observers as it arrives.

export interface ConsoleLine {
  deltaNs: bigint;
  line: Uint8Array;
}

export interface ConsoleObserver {
  line(entry: ConsoleLine): void;
  end(deltaNs: bigint, result: string): void;
}

export class ConsoleBuffer {
  readonly lines: ConsoleLine[] = [];
  private bytes = 0;
  private head = 0;
  dropped = 0;
  private readonly observers = new Set<ConsoleObserver>();
  ended?: { deltaNs: bigint; result: string };

  constructor(private readonly maxBytes = 128 * 1024 * 1024) {}

  append(entry: ConsoleLine): void {
    this.lines.push(entry);
    this.bytes += entry.line.byteLength + 16;
    while (this.bytes > this.maxBytes && this.head < this.lines.length - 1) {
      const old = this.lines[this.head]!;
      this.bytes -= old.line.byteLength + 16;
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
