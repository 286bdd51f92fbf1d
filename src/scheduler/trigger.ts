// When a schedule entry runs, whatever its trigger: one of the original's periods or a cron
// expression in a time zone (absent: the server's zone).
import type { Trigger } from '../store/store.ts';
import { compileCron, parseCron, type CronSchedule } from './cron.ts';
import { nextPeriodRun } from './period.ts';

export type { Trigger };

const compiled = new Map<string, CronSchedule>();
const MAX_COMPILED = 4096;

/** The compiled cron schedule of a trigger (cached), without the "never fires" check. */
export function cronOf(trigger: Extract<Trigger, { type: 'cron' }>): CronSchedule {
  const key = `${trigger.timeZone ?? ''}\u0000${trigger.expr}`;
  let c = compiled.get(key);
  if (!c) {
    c = compileCron(trigger.expr, trigger.timeZone === undefined ? {} : { timeZone: trigger.timeZone });
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    compiled.set(key, c);
  }
  return c;
}

/**
 * Checks a trigger a client asks for: a cron expression must parse, name a known zone and fire
 * after `now`. Throws CronError (stable code) otherwise.
 */
export function validateTrigger(trigger: Trigger, now: number): void {
  if (trigger.type === 'cron') {
    parseCron(trigger.expr, { ...(trigger.timeZone === undefined ? {} : { timeZone: trigger.timeZone }), now });
  }
}

/**
 * The next time after a run: a period counts from `now` (the original's rule: next = now + period,
 * null for 'never'); a cron trigger fires at its first occurrence strictly after both `afterMs`
 * (the occurrence just handled) and `now`. null: it never runs again.
 */
export function nextRun(trigger: Trigger, afterMs: number, now: number): number | null {
  if (trigger.type === 'period') return nextPeriodRun(trigger.period, now);
  return cronOf(trigger).next(Math.max(afterMs, now));
}

/**
 * A new entry: a periodic one is queued at once and next = now + period (the original); a cron
 * one waits for its first occurrence after now.
 */
export function firstRun(trigger: Trigger, now: number): { queueNow: boolean; next: number | null } {
  if (trigger.type === 'period') return { queueNow: true, next: nextPeriodRun(trigger.period, now) };
  return { queueNow: false, next: cronOf(trigger).next(now) };
}

/** The occurrence following `at` on the trigger's own grid (period: at + period), for counting missed runs. */
export function followingOccurrence(trigger: Trigger, at: number): number | null {
  if (trigger.type === 'period') return nextPeriodRun(trigger.period, at);
  return cronOf(trigger).next(at);
}
