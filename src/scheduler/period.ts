// The original's periods: a periodic entry runs, then its next time is now + period; 'never'
// runs once (when scheduled) and has no next time.
import type { Period } from '../protocol/types.ts';

const HOUR = 3_600_000;

export const PERIOD_MS = { hourly: HOUR, daily: 24 * HOUR, weekly: 7 * 24 * HOUR } as const;

export const PERIODS: readonly Period[] = ['hourly', 'daily', 'weekly', 'never'];

export function isPeriod(v: unknown): v is Period {
  return typeof v === 'string' && (PERIODS as readonly string[]).includes(v);
}

/** ms between runs; null for 'never' */
export function periodMs(period: Period): number | null {
  return period === 'never' ? null : PERIOD_MS[period];
}

/** The original's rule: next = now + period; 'never' has no next. */
export function nextPeriodRun(period: Period, now: number): number | null {
  const len = periodMs(period);
  return len === null ? null : now + len;
}
