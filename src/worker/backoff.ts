// Delays between reconnection attempts while the server is away: exponential, capped, with full jitter so that
// many workers restarted together do not knock on the server at the same instant.

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  /** A number in [0, 1): Math.random unless a test fixes it. */
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 500;
    this.maxMs = options.maxMs ?? 30_000;
    this.random = options.random ?? Math.random;
  }

  /** The next delay: uniform in [ceiling/2, ceiling), the ceiling doubling from initialMs up to maxMs. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  reset(): void {
    this.attempt = 0;
  }
}
