// When a schedule entry runs: its first time, and what happens when it falls due (catch-up policy).
import { CommandError } from '../errors/command-error.ts';
import { parseCron } from '../scheduler/cron.ts';
import type { ScheduleEntry, Trigger } from './persistence.ts';

const HOUR = 3_600_000;
export const PERIOD_MS = { hourly: HOUR, daily: 24 * HOUR, weekly: 7 * 24 * HOUR } as const;

/** An occurrence later than this after its time counts as missed (downtime), not merely late. */
export const CATCH_UP_GRACE_MS = 60_000;
/** A bound on how many missed cron occurrences are counted. */
const MAX_COUNTED = 10_000;

export function validateTrigger(t: Trigger): void {
  if (t.type === 'cron') {
    try {
      parseCron(t.expr, t.timeZone ? { timeZone: t.timeZone } : {});
    } catch (e) {
      throw new CommandError((e as { code?: string }).code ?? 'ERR_CRON', (e as Error).message);
    }
  }
}

/** The original queues a periodic job at once and sets next = now + period; cron waits for its time. */
export function firstRun(t: Trigger, now: number, _initial = true): number | null {
  if (t.type === 'period') return t.period === 'never' ? null : now + PERIOD_MS[t.period];
  return parseCron(t.expr, t.timeZone ? { timeZone: t.timeZone } : {}).next(now);
}

/** The time after `after` for an entry that just ran. */
export function nextAfter(t: Trigger, now: number): number | null {
  return firstRun(t, now);
}

/** Occurrences from `next` up to now, inclusive, counted up to a bound. */
export function missedOccurrences(t: Trigger, next: number, now: number, bound = MAX_COUNTED): number {
  if (next > now) return 0;
  if (t.type === 'period') {
    if (t.period === 'never') return 1;
    return Math.min(bound, 1 + Math.floor((now - next) / PERIOD_MS[t.period]));
  }
  const cron = parseCron(t.expr, t.timeZone ? { timeZone: t.timeZone } : {});
  let n = 1;
  let at: number | null = next;
  while (n < bound) {
    at = cron.next(at);
    if (at === null || at > now) break;
    n++;
  }
  return n;
}

/**
 * An entry fell due at `now`: how many runs to queue and its new next time.
 * - one (the original): one run, however many were missed.
 * - skip: no run for occurrences missed by more than the grace period; an on-time one runs.
 * - all: every missed occurrence, up to max.
 */
export function fireEntry(entry: ScheduleEntry, now: number): { runs: number; next: number | null } {
  const next = entry.next;
  if (next === null || next > now) return { runs: 0, next };
  const after = nextAfter(entry.trigger, now);
  const policy = entry.catchUp;
  if (policy.type === 'one') return { runs: 1, next: after };
  if (policy.type === 'skip') {
    // only the newest occurrence can be on time
    const latest = latestOccurrence(entry.trigger, next, now);
    return { runs: now - latest <= CATCH_UP_GRACE_MS ? 1 : 0, next: after };
  }
  return { runs: Math.max(1, Math.min(policy.max, missedOccurrences(entry.trigger, next, now, policy.max))), next: after };
}

function latestOccurrence(t: Trigger, next: number, now: number): number {
  if (t.type === 'period') {
    if (t.period === 'never') return next;
    const len = PERIOD_MS[t.period];
    return next + Math.floor((now - next) / len) * len;
  }
  const cron = parseCron(t.expr, t.timeZone ? { timeZone: t.timeZone } : {});
  // Walk forward from next; bounded, and an expression firing more often than the bound is rare.
  let at = next;
  for (let i = 0; i < MAX_COUNTED; i++) {
    const n = cron.next(at);
    if (n === null || n > now) return at;
    at = n;
  }
  return at;
}
