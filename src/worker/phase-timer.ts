// Where a job's cycle goes, for `builder worker --timings` and bench/dispatch.ts: each mark closes the phase that
// began at the previous one. A measurement, not a schedule, so it reads the monotonic clock directly.
import { performance } from 'node:perf_hooks';

export class PhaseTimer {
  private readonly start = performance.now();
  private last = this.start;
  private readonly phases: [string, number][] = [];

  /** Ends the phase called name (time since the previous mark); a repeated name adds up. */
  mark(name: string): void {
    const now = performance.now();
    const found = this.phases.find((p) => p[0] === name);
    if (found) found[1] += now - this.last;
    else this.phases.push([name, now - this.last]);
    this.last = now;
  }

  /** "a=1.23 b=0.40 cycle=1.63" in ms, cycle being the whole span from creation to the last mark. */
  summary(): string {
    return [...this.phases, ['cycle', this.last - this.start] as [string, number]].map(([n, ms]) => `${n}=${ms.toFixed(2)}`).join(' ');
  }
}
