// Cron schedules in jobd's dialect (gorhill/cronexpr; fields in cron-fields.ts), evaluated in an
// IANA time zone. Our own evaluator: cron-parser has no year field and we need exact DST rules.
//
// Daylight saving time, as cron-parser and Vixie cron/cronie do it:
// - Spring forward (a wall-clock range is skipped, e.g. 02:00-03:00 in Europe/Berlin on the last
//   Sunday of March): a time inside the gap fires at the same distance into the new time, i.e.
//   shifted by the gap (`30 2 * * *` fires at 03:30 CEST = 01:30Z), once. Expressions whose hour
//   field is a wildcard (`*`, `?`, `*/n` as in Vixie cron, or a list of all 24 hours) just skip the
//   missing wall-clock times (`30 * * * *` fires at 01:30 CET and then 03:30 CEST).
// - Fall back (a wall-clock range repeats, e.g. 01:00-02:00 in America/New_York on the first
//   Sunday of November): a time in the repeated range fires once, at its first occurrence
//   (`0 1 * * *` fires at 01:00 EDT = 05:00Z, not again at 01:00 EST), except for an hour-wildcard
//   expression, which fires on both passes and so keeps its cadence (`*/30 * * * *` fires at
//   05:00Z, 05:30Z, 06:00Z, 06:30Z ...).
// Results are whole seconds, strictly after the given instant; null when nothing matches
// before the end of 2099 (cronexpr's last year).
import { cronErrors } from '../errors/cron-error.ts';
import { daysOfMonth, parseCronFields, type CronFields } from './cron-fields.ts';
import { firstTransition, isUtc, isValidTimeZone, offsetAt, systemTimeZone } from './time-zone.ts';

export interface CronOptions {
  /** an IANA zone; default: the server's zone */
  timeZone?: string;
  /** for the "never fires" check (default: Date.now()) */
  now?: number;
}

export interface CronSchedule {
  /** the expression as given */
  readonly expr: string;
  /** the seven fields as understood: "sec min hour dom month dow year" */
  readonly normalized: string;
  readonly timeZone: string;
  /** the first firing strictly after `afterMs` (ms since the epoch), or null if there is none */
  next(afterMs: number): number | null;
  /** "<expr> (<zone>)", e.g. "0 0/5 * * * ? * (Europe/Berlin)" */
  describe(): string;
}

const DAY = 86_400_000;
/** A DST change this far back may still owe a shifted or repeated time (gaps/overlaps are < 1 day). */
const LOOKBACK = DAY;
const MAX_SEGMENTS = 16;
const MAX_RESTARTS = 1000;

/**
 * Parses and checks an expression. Refused with a CronError (stable `code`): ERR_CRON_FIELD_COUNT,
 * ERR_CRON_SYNTAX, ERR_CRON_STEP (step 0 or too large), ERR_CRON_RANGE (value out of range,
 * reversed range), ERR_CRON_TIME_ZONE, ERR_CRON_NEVER (no firing from `now` to 2099: 30 Feb, a past year).
 */
export function parseCron(expr: string, opts: CronOptions = {}): CronSchedule {
  const schedule = compileCron(expr, opts);
  if (schedule.next(opts.now ?? Date.now()) === null) throw cronErrors.never(expr, schedule.timeZone);
  return schedule;
}

/**
 * Like parseCron without the "never fires" check: for evaluating a stored trigger whose last
 * firing may have passed (its `next` is then null rather than an error).
 */
export function compileCron(expr: string, opts: { timeZone?: string } = {}): CronSchedule {
  const timeZone = opts.timeZone ?? systemTimeZone();
  if (!isValidTimeZone(timeZone)) throw cronErrors.timeZone(String(expr), String(timeZone));
  return new CronEvaluator(expr, parseCronFields(expr), timeZone);
}

class CronEvaluator implements CronSchedule {
  readonly normalized: string;
  private readonly dayCache = new Map<number, number[]>();

  constructor(
    readonly expr: string,
    private readonly f: CronFields,
    readonly timeZone: string,
  ) {
    this.normalized = f.normalized;
  }

  describe(): string {
    return `${this.expr.trim()} (${this.timeZone})`;
  }

  next(afterMs: number): number | null {
    if (!Number.isFinite(afterMs)) return null;
    let start = Math.floor(afterMs / 1000) * 1000 + 1000;
    if (isUtc(this.timeZone)) return this.nextLocal(start);
    for (let i = 0; i < MAX_RESTARTS; i++) {
      const r = this.nextFrom(start);
      if (typeof r === 'number' || r === null) return r;
      start = r.restartAt;
    }
    return null;
  }

  /**
   * The first firing at or after `start`, or where to start again closer to it. Works segment by
   * segment between DST changes: within one, local time is instant + a constant offset.
   */
  private nextFrom(start: number): number | null | { restartAt: number } {
    const tz = this.timeZone;
    let o = offsetAt(tz, start);
    // a DST change shortly before `start` may still owe a shifted (gap) time, or make `start` a
    // second pass over repeated wall-clock times
    let segStart = start;
    let prev: number | null = null;
    const back = start - LOOKBACK;
    if (offsetAt(tz, back) !== o) {
      const t = firstTransition(tz, back, start);
      if (t !== null) {
        segStart = t;
        prev = offsetAt(tz, t - 1000);
        o = offsetAt(tz, t);
      }
    }
    for (let i = 0; i < MAX_SEGMENTS; i++) {
      const from = Math.max(segStart, start);
      let best: number | null = null;
      if (prev !== null && prev < o && !this.f.hourWildcard) {
        // wall-clock times skipped by this spring-forward fire shifted by the gap
        const g = this.nextLocal(from + prev);
        if (g !== null && g < segStart + o) best = g - prev;
      }
      let localFrom = from + o;
      if (prev !== null && prev > o && !this.f.hourWildcard) localFrom = Math.max(localFrom, segStart + prev);
      const n = this.nextLocal(localFrom);
      if (n !== null && (best === null || n - o < best)) best = n - o;
      if (best === null) return null;
      // Far ahead: n is the first matching wall-clock time after from, so nothing can fire between
      // a day after `from` and a day before `best` (offsets differ by less than a day); look again
      // from close to it rather than walking every DST change in between.
      if (best - from > 2 * DAY) return { restartAt: best - 2 * DAY };
      const t = firstTransition(tz, from, best);
      if (t === null) return best;
      // the offset changes at t, before or at `best`: nothing of this segment came first
      prev = offsetAt(tz, t - 1000);
      o = offsetAt(tz, t);
      segStart = t;
    }
    return null;
  }

  /** The first wall-clock time (local ms) at or after `local` matching every field, or null. */
  private nextLocal(local: number): number | null {
    const f = this.f;
    const d = new Date(Math.ceil(local / 1000) * 1000);
    let y = d.getUTCFullYear();
    let mo = d.getUTCMonth() + 1;
    let day = d.getUTCDate();
    let h = d.getUTCHours();
    let mi = d.getUTCMinutes();
    let s = d.getUTCSeconds();
    const lastYear = f.years[f.years.length - 1]!;
    for (;;) {
      if (y > lastYear) return null;
      if (!f.years.includes(y)) {
        const ny = ceil(f.years, y);
        if (ny === undefined) return null;
        y = ny;
        mo = 1;
        day = 1;
        h = mi = s = 0;
        continue;
      }
      const nm = ceil(f.months, mo);
      if (nm === undefined) {
        y++;
        mo = 1;
        day = 1;
        h = mi = s = 0;
        continue;
      }
      if (nm !== mo) {
        mo = nm;
        day = 1;
        h = mi = s = 0;
      }
      const nd = ceil(this.days(y, mo), day);
      if (nd === undefined) {
        mo++;
        day = 1;
        h = mi = s = 0;
        if (mo > 12) {
          y++;
          mo = 1;
        }
        continue;
      }
      if (nd !== day) {
        day = nd;
        h = mi = s = 0;
      }
      const nh = ceil(f.hours, h);
      if (nh === undefined) {
        ({ y, mo, day } = nextDay(y, mo, day));
        h = mi = s = 0;
        continue;
      }
      if (nh !== h) {
        h = nh;
        mi = s = 0;
      }
      const nmi = ceil(f.minutes, mi);
      if (nmi === undefined) {
        h++;
        mi = s = 0;
        if (h > 23) {
          ({ y, mo, day } = nextDay(y, mo, day));
          h = 0;
        }
        continue;
      }
      if (nmi !== mi) {
        mi = nmi;
        s = 0;
      }
      const ns = ceil(f.seconds, s);
      if (ns === undefined) {
        mi++;
        s = 0;
        if (mi > 59) {
          mi = 0;
          h++;
          if (h > 23) {
            ({ y, mo, day } = nextDay(y, mo, day));
            h = 0;
          }
        }
        continue;
      }
      return Date.UTC(y, mo - 1, day, h, mi, ns);
    }
  }

  private days(year: number, month: number): number[] {
    const key = year * 16 + month;
    let d = this.dayCache.get(key);
    if (!d) {
      d = daysOfMonth(this.f, year, month);
      if (this.dayCache.size > 512) this.dayCache.clear();
      this.dayCache.set(key, d);
    }
    return d;
  }
}

/** The smallest element >= v of a sorted list. */
function ceil(list: readonly number[], v: number): number | undefined {
  for (const x of list) if (x >= v) return x;
  return undefined;
}

function nextDay(y: number, mo: number, day: number): { y: number; mo: number; day: number } {
  const d = new Date(Date.UTC(y, mo - 1, day + 1));
  return { y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** Whether an expression parses and fires (for form validation); never throws. */
export function isValidCron(expr: string, opts: CronOptions = {}): boolean {
  try {
    parseCron(expr, opts);
    return true;
  } catch {
    return false;
  }
}
