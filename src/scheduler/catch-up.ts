// What to do when an entry's `next` has passed (a scheduler tick, or a restart after downtime).
//   one  (the original): one run, however many occurrences were missed
//   skip: no run for occurrences missed by more than the grace; an on-time one still runs
//   all:  one run per missed occurrence, at most `max` (a max below 1 counts as 1: a due entry runs)
// The new `next` is nextRun(trigger, next, now): for a period now + period, for cron the first
// occurrence after now. Missed occurrences are counted on the trigger's own grid from the stored
// `next` (period: next, next + p, ...; cron: its occurrences) up to and including now.
import type { CatchUp } from '../protocol/types.ts';
import type { Trigger } from '../store/store.ts';
import { periodMs } from './period.ts';
import { followingOccurrence, nextRun } from './trigger.ts';

/** A tick this late or less is on time (the original ticks every 60 s). */
export const DEFAULT_GRACE_MS = 60_000;
/** Counting of missed occurrences stops here (an every-second cron after a week's downtime). */
export const MAX_COUNTED = 10_000;

export const DEFAULT_CATCH_UP: CatchUp = { type: 'one' };

export interface CatchUpDecision {
  /** runs to enqueue now */
  runs: number;
  /** the entry's new next time (unchanged when nothing was due) */
  next: number | null;
  /** occurrences from the stored next up to now (counted up to MAX_COUNTED, or the policy's max for 'all') */
  missed: number;
  /** the latest of those occurrences (null when none was due) */
  latest: number | null;
}

export interface CatchUpOptions {
  graceMs?: number;
}

export function catchUp(
  trigger: Trigger,
  next: number | null,
  policy: CatchUp,
  now: number,
  opts: CatchUpOptions = {},
): CatchUpDecision {
  if (next === null || next > now) return { runs: 0, next, missed: 0, latest: null };
  const grace = opts.graceMs ?? DEFAULT_GRACE_MS;
  const bound = policy.type === 'all' ? Math.max(1, Math.min(policy.max, MAX_COUNTED)) : MAX_COUNTED;
  const { missed, latest } = missedOccurrences(trigger, next, now, bound);
  const newNext = nextRun(trigger, next, now);
  let runs: number;
  if (policy.type === 'one') runs = 1;
  else if (policy.type === 'skip') runs = now - latest <= grace ? 1 : 0;
  else runs = Math.min(missed, Math.max(1, policy.max));
  return { runs, next: newNext, missed, latest };
}

/**
 * Occurrences from `next` (<= now) up to now inclusive, counted up to `bound`, and the latest of
 * all of them (found even past the bound).
 */
export function missedOccurrences(
  trigger: Trigger,
  next: number,
  now: number,
  bound = MAX_COUNTED,
): { missed: number; latest: number } {
  if (next > now) return { missed: 0, latest: next };
  if (trigger.type === 'period') {
    const len = periodMs(trigger.period);
    if (len === null) return { missed: 1, latest: next };
    const k = Math.floor((now - next) / len);
    return { missed: Math.min(bound, 1 + k), latest: next + k * len };
  }
  let missed = 1;
  let latest = next;
  for (;;) {
    const n = followingOccurrence(trigger, latest);
    if (n === null || n > now) return { missed, latest };
    if (missed >= bound) return { missed, latest: lastBefore(trigger, n, now) };
    latest = n;
    missed++;
  }
}

/** The last occurrence at or before now, found by galloping back from now (`from` is one <= now). */
function lastBefore(trigger: Trigger, from: number, now: number): number {
  // step back from now: the occurrence following (now - w) for growing windows w
  for (let w = 1000; w < now - from; w *= 2) {
    const n = followingOccurrence(trigger, now - w);
    if (n !== null && n <= now) {
      let at = n;
      for (;;) {
        const m = followingOccurrence(trigger, at);
        if (m === null || m > now) return at;
        at = m;
      }
    }
  }
  return from;
}
