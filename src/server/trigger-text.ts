import type { Trigger } from './persistence.ts';

/** "hourly", "daily", "weekly", "never", or the cron expression (with its zone). */
export function triggerText(t: Trigger): string {
  if (t.type === 'period') return t.period;
  return t.timeZone ? `${t.expr} (${t.timeZone})` : t.expr;
}
