// The options of schedule and orb-build: the original's --period, and our --cron/--tz, --timeout, --catch-up.
// Only the period alone goes out as the original's command; anything more as ScheduleExtended [23].
import type { CatchUp, Period } from '../../protocol/types.ts';
import { usageError, type OptionSpec } from './command.ts';

export const PERIODS: readonly Period[] = ['hourly', 'daily', 'weekly', 'never'];

export const scheduleOptions: Record<string, OptionSpec> = {
  period: { type: 'string', value: 'PERIOD', values: PERIODS, help: 'how often the job runs: hourly, daily, weekly or never (default daily; not with --cron)' },
  cron: { type: 'string', value: 'EXPR', help: 'run at the times of a cron expression instead of a period (5 fields, or 6-7 with seconds and years), e.g. "0 3 * * *"' },
  tz: { type: 'string', value: 'ZONE', help: 'the time zone of --cron, e.g. Europe/Berlin (default UTC)' },
  timeout: { type: 'string', value: 'DURATION', help: "the job's timeout: seconds, or with a unit as 90s, 30m, 2h, 1d (default the server's, 1h unless the server says otherwise)" },
  'catch-up': { type: 'string', value: 'POLICY', help: 'runs missed while the server was down: one (run once), skip, or all[:MAX] (default one)' },
};

export interface ScheduleChoice {
  period?: Period;
  cron?: string;
  timeZone?: string;
  timeoutSeconds?: number;
  catchUp?: CatchUp;
  /** true when the original's Schedule cannot carry it */
  extended: boolean;
}

export function parseTimeout(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([smhd]?)$/.exec(text.trim());
  const n = m ? Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'] : NaN;
  if (!(n > 0)) throw usageError(`--timeout: not a positive duration: ${JSON.stringify(text)} (seconds, or 90s, 30m, 2h, 1d)`);
  return n;
}

export function parseCatchUp(text: string): CatchUp {
  if (text === 'one' || text === 'skip') return { type: text };
  const m = /^all(?::(\d+))?$/.exec(text);
  if (m) {
    const max = m[1] === undefined ? 100 : Number(m[1]);
    if (max < 1) throw usageError('--catch-up all:MAX: MAX must be at least 1');
    return { type: 'all', max };
  }
  throw usageError(`--catch-up: ${JSON.stringify(text)} is not one of one, skip, all[:MAX]`);
}

function validZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export function scheduleChoice(opts: Record<string, string | boolean | undefined>): ScheduleChoice {
  const period = opts.period as Period | undefined;
  const cron = opts.cron as string | undefined;
  const tz = opts.tz as string | undefined;
  if (cron !== undefined && period !== undefined) throw usageError('give either --period or --cron, not both');
  if (tz !== undefined && cron === undefined) throw usageError('--tz only goes with --cron');
  if (cron !== undefined && cron.trim() === '') throw usageError('--cron: empty expression');
  if (tz !== undefined && !validZone(tz)) throw usageError(`--tz: unknown time zone ${JSON.stringify(tz)}`);
  const choice: ScheduleChoice = { extended: false };
  if (cron !== undefined) choice.cron = cron;
  else choice.period = period ?? 'daily';
  if (tz !== undefined) choice.timeZone = tz;
  if (typeof opts.timeout === 'string') choice.timeoutSeconds = parseTimeout(opts.timeout);
  if (typeof opts['catch-up'] === 'string') choice.catchUp = parseCatchUp(opts['catch-up']);
  choice.extended = cron !== undefined || choice.timeoutSeconds !== undefined || choice.catchUp !== undefined;
  return choice;
}

/** What of the choice needs ScheduleExtended ("cron schedules, job timeouts"), and how to do without it. */
export function extendedFeatures(c: ScheduleChoice): { feature: string; instead: string } {
  const f: string[] = [];
  const instead: string[] = [];
  if (c.cron !== undefined) f.push('cron schedules');
  if (c.timeZone !== undefined) f.push('time zones');
  if (c.cron !== undefined) instead.push('use --period hourly|daily|weekly|never instead');
  if (c.timeoutSeconds !== undefined) {
    f.push('job timeouts');
    instead.push('leave out --timeout (its jobs time out after one hour)');
  }
  if (c.catchUp !== undefined) {
    f.push('catch-up policies');
    instead.push('leave out --catch-up (it runs a missed job once)');
  }
  return { feature: f.join(', '), instead: instead.join('; ') };
}

/** "daily", "cron 0 3 * * * (Europe/Berlin)" */
export function triggerText(c: ScheduleChoice): string {
  if (c.cron !== undefined) return `cron ${c.cron}${c.timeZone ? ` (${c.timeZone})` : ''}`;
  return c.period!;
}
