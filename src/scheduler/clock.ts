// The one source of time for schedulers and actors, injectable so tests of periods, cron, DST,
// catch-up and timeouts run deterministically in no real time.

export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  /** milliseconds since the epoch */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

// Node's setTimeout overflows above 2^31-1 ms and fires at once; long waits are chained.
const MAX_TIMER_MS = 2 ** 31 - 1;

export class SystemClock implements Clock {
  private next = 1;
  private readonly timers = new Map<number, NodeJS.Timeout>();

  now(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.next++;
    const deadline = Date.now() + Math.max(0, ms);
    const arm = () => {
      const left = deadline - Date.now();
      const t = setTimeout(() => {
        if (deadline - Date.now() > 0) return arm();
        this.timers.delete(id);
        fn();
      }, Math.min(Math.max(0, left), MAX_TIMER_MS));
      t.unref?.();
      this.timers.set(id, t);
    };
    arm();
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    const t = this.timers.get(handle.id);
    if (t) clearTimeout(t);
    this.timers.delete(handle.id);
  }
}

/** A clock that moves only when told to; timers fire in deadline order during advance(). */
export class TestClock implements Clock {
  private current: number;
  private next = 1;
  private readonly timers = new Map<number, { at: number; fn: () => void; seq: number }>();

  constructor(start: number | Date = Date.UTC(2024, 0, 1)) {
    this.current = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.next++;
    this.timers.set(id, { at: this.current + Math.max(0, ms), fn, seq: id });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle.id);
  }

  pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by ms, firing every timer that falls due, each at its own time. */
  advance(ms: number): void {
    this.advanceTo(this.current + ms);
  }

  advanceTo(target: number | Date): void {
    const end = typeof target === 'number' ? target : target.getTime();
    for (;;) {
      let due: [number, { at: number; fn: () => void; seq: number }] | undefined;
      for (const entry of this.timers) {
        if (entry[1].at > end) continue;
        if (!due || entry[1].at < due[1].at || (entry[1].at === due[1].at && entry[1].seq < due[1].seq)) due = entry;
      }
      if (!due) break;
      this.timers.delete(due[0]);
      this.current = Math.max(this.current, due[1].at);
      due[1].fn();
    }
    this.current = Math.max(this.current, end);
  }

  /** Lets promise callbacks run between steps: advance, then await settle(). */
  async settle(): Promise<void> {
    for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
  }
}

export const systemClock: Clock = new SystemClock();
