// Parsing the cron dialect of gorhill/cronexpr (what jobd used) into sets of values.
//   5 fields: min hour dom month dow            (second 0, any year)
//   6 fields: min hour dom month dow year
//   7 fields: sec min hour dom month dow year
// Each field is a comma list of `*` or `?`, `v`, `a-b`, `*/n`, `a/n`, `a-b/n`; names of months
// and days (jan, january, mon, monday ...), case-insensitive; dow 7 is Sunday. Day of month also
// takes `L` (last day), `LW` (last weekday), `15W` (weekday nearest the 15th, within the month);
// day of week `5L` (last Friday) and `5#3` (third Friday). Years 1970-2099.
// Macros: @yearly @annually @monthly @weekly @daily @midnight @hourly.
import { cronErrors } from '../errors/cron-error.ts';

export interface CronFields {
  seconds: number[];
  minutes: number[];
  hours: number[];
  months: number[];
  years: number[];
  dom: DomRule;
  dow: DowRule;
  /** the hour field is a wildcard (star, `?`, a star with a step, or all 24 hours): at DST changes it keeps to the clock, see cron.ts */
  hourWildcard: boolean;
  /** the seven fields as understood (lowercase, macros expanded) */
  normalized: string;
}

export interface DomRule {
  /** false when the field has a bare `*` or `?`: the day is then decided by the other field */
  restricted: boolean;
  days: Set<number>;
  last: boolean;
  lastWeekday: boolean;
  nearestWeekday: Set<number>;
}

export interface DowRule {
  restricted: boolean;
  /** 0 = Sunday ... 6 = Saturday */
  days: Set<number>;
  lastOfMonth: Set<number>;
  /** [dow, week 1-5] */
  nth: [number, number][];
}

const MACROS: Record<string, string> = {
  '@yearly': '0 0 0 1 1 ? *',
  '@annually': '0 0 0 1 1 ? *',
  '@monthly': '0 0 0 1 * ? *',
  '@weekly': '0 0 0 ? * 0 *',
  '@daily': '0 0 0 * * ? *',
  '@midnight': '0 0 0 * * ? *',
  '@hourly': '0 0 * * * ? *',
};

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MONTH_FULL = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const DAY_FULL = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: Map<string, number>;
}

function nameMap(short: string[], full: string[], base: number): Map<string, number> {
  const m = new Map<string, number>();
  short.forEach((n, i) => m.set(n, i + base));
  full.forEach((n, i) => m.set(n, i + base));
  return m;
}

const SECOND: FieldSpec = { name: 'second', min: 0, max: 59 };
const MINUTE: FieldSpec = { name: 'minute', min: 0, max: 59 };
const HOUR: FieldSpec = { name: 'hour', min: 0, max: 23 };
const DOM: FieldSpec = { name: 'day-of-month', min: 1, max: 31 };
const MONTH: FieldSpec = { name: 'month', min: 1, max: 12, names: nameMap(MONTHS, MONTH_FULL, 1) };
// 7 is accepted as Sunday, as in cronexpr
const DOW: FieldSpec = { name: 'day-of-week', min: 0, max: 7, names: nameMap(DAYS, DAY_FULL, 0) };
const YEAR: FieldSpec = { name: 'year', min: 1970, max: 2099 };

export function parseCronFields(expr: string): CronFields {
  if (typeof expr !== 'string') throw cronErrors.syntax(String(expr), 'expression', String(expr));
  const trimmed = expr.trim();
  let fields: string[];
  if (trimmed.startsWith('@')) {
    const m = MACROS[trimmed.toLowerCase()];
    if (!m) throw cronErrors.syntax(expr, 'macro', trimmed);
    fields = m.split(' ');
  } else {
    const parts = trimmed.length === 0 ? [] : trimmed.split(/\s+/);
    if (parts.length === 5) fields = ['0', ...parts, '*'];
    else if (parts.length === 6) fields = ['0', ...parts];
    else if (parts.length === 7) fields = parts;
    else throw cronErrors.fieldCount(expr, parts.length);
  }
  fields = fields.map((f) => f.toLowerCase());
  const [sec, min, hour, dom, month, dow, year] = fields as [string, string, string, string, string, string, string];
  const hourEntries = hour.split(',');
  const hours = values(expr, hour, HOUR);
  return {
    seconds: values(expr, sec, SECOND),
    minutes: values(expr, min, MINUTE),
    hours,
    months: values(expr, month, MONTH),
    years: values(expr, year, YEAR),
    dom: domRule(expr, dom),
    dow: dowRule(expr, dow),
    hourWildcard: hours.length === 24 || hourEntries.some((e) => e === '*' || e === '?' || e.startsWith('*/')),
    normalized: fields.join(' '),
  };
}

interface Span {
  from: number;
  to: number;
  step: number;
  all: boolean;
}

/** One comma entry of the generic forms; undefined when it is none of them (a special form). */
function span(expr: string, entry: string, spec: FieldSpec): Span | undefined {
  if (entry === '*' || entry === '?') return { from: spec.min, to: spec.max, step: 1, all: true };
  const m = /^(\*|[a-z0-9]+)(?:-([a-z0-9]+))?(?:\/([0-9]+))?$/.exec(entry);
  if (!m) return undefined;
  const [, a, b, s] = m as unknown as [string, string, string | undefined, string | undefined];
  if (a === '*' && b !== undefined) return undefined;
  const step = s === undefined ? 1 : Number(s);
  if (s !== undefined && (step < 1 || step > spec.max)) throw cronErrors.step(expr, spec.name, entry, spec.max);
  if (a === '*') return { from: spec.min, to: spec.max, step, all: false };
  const from = value(expr, a, spec, entry);
  if (from === undefined) return undefined;
  let to: number;
  if (b !== undefined) {
    const v = value(expr, b, spec, entry);
    if (v === undefined) return undefined;
    to = v;
    if (to < from) throw cronErrors.reversed(expr, spec.name, entry);
  } else {
    to = s === undefined ? from : spec.max;
  }
  return { from, to, step, all: false };
}

function value(expr: string, token: string, spec: FieldSpec, entry: string): number | undefined {
  let v: number | undefined;
  if (/^[0-9]+$/.test(token)) v = Number(token);
  else v = spec.names?.get(token);
  if (v === undefined) return undefined;
  if (v < spec.min || v > spec.max) throw cronErrors.range(expr, spec.name, entry, spec.min, spec.max);
  return v;
}

function values(expr: string, field: string, spec: FieldSpec): number[] {
  const set = new Set<number>();
  for (const entry of entries(expr, field, spec)) {
    const s = span(expr, entry, spec);
    if (!s) throw cronErrors.syntax(expr, spec.name, entry);
    for (let v = s.from; v <= s.to; v += s.step) set.add(v);
  }
  return [...set].sort((x, y) => x - y);
}

function entries(expr: string, field: string, spec: FieldSpec): string[] {
  const list = field.split(',');
  if (list.some((e) => e.length === 0)) throw cronErrors.syntax(expr, spec.name, field);
  return list;
}

function domRule(expr: string, field: string): DomRule {
  const rule: DomRule = { restricted: true, days: new Set(), last: false, lastWeekday: false, nearestWeekday: new Set() };
  for (const entry of entries(expr, field, DOM)) {
    if (entry === 'l') {
      rule.last = true;
      continue;
    }
    if (entry === 'lw') {
      rule.lastWeekday = true;
      continue;
    }
    const w = /^([0-9]+)w$/.exec(entry);
    if (w) {
      rule.nearestWeekday.add(value(expr, w[1]!, DOM, entry)!);
      continue;
    }
    const s = span(expr, entry, DOM);
    if (!s) throw cronErrors.syntax(expr, DOM.name, entry);
    if (s.all) rule.restricted = false;
    for (let v = s.from; v <= s.to; v += s.step) rule.days.add(v);
  }
  return rule;
}

function dowRule(expr: string, field: string): DowRule {
  const rule: DowRule = { restricted: true, days: new Set(), lastOfMonth: new Set(), nth: [] };
  for (const entry of entries(expr, field, DOW)) {
    const last = /^([a-z0-9]+)l$/.exec(entry);
    if (last && entry !== 'l') {
      const v = value(expr, last[1]!, DOW, entry);
      if (v === undefined) throw cronErrors.syntax(expr, DOW.name, entry);
      rule.lastOfMonth.add(v % 7);
      continue;
    }
    const nth = /^([a-z0-9]+)#([0-9]+)$/.exec(entry);
    if (nth) {
      const v = value(expr, nth[1]!, DOW, entry);
      if (v === undefined) throw cronErrors.syntax(expr, DOW.name, entry);
      const week = Number(nth[2]);
      if (week < 1 || week > 5) throw cronErrors.range(expr, DOW.name, entry, 1, 5);
      rule.nth.push([v % 7, week]);
      continue;
    }
    const s = span(expr, entry, DOW);
    if (!s) throw cronErrors.syntax(expr, DOW.name, entry);
    if (s.all) rule.restricted = false;
    for (let v = s.from; v <= s.to; v += s.step) rule.days.add(v % 7);
  }
  return rule;
}

/** The days of a month (1-based) that match the day rules; month is 1-12. */
export function daysOfMonth(f: CronFields, year: number, month: number): number[] {
  const length = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const firstDow = new Date(Date.UTC(year, month - 1, 1)).getUTCDay();
  const dowOf = (day: number) => (firstDow + day - 1) % 7;
  const { dom, dow } = f;
  const out: number[] = [];
  if (!dom.restricted && !dow.restricted) {
    for (let d = 1; d <= length; d++) out.push(d);
    return out;
  }
  const hit = new Set<number>();
  if (dom.restricted) {
    for (const d of dom.days) if (d <= length) hit.add(d);
    if (dom.last) hit.add(length);
    if (dom.lastWeekday) hit.add(nearestWeekday(length, length, dowOf));
    for (const d of dom.nearestWeekday) if (d <= length) hit.add(nearestWeekday(d, length, dowOf));
  }
  if (dow.restricted) {
    for (let d = 1; d <= length; d++) {
      const wd = dowOf(d);
      if (dow.days.has(wd)) hit.add(d);
      if (dow.lastOfMonth.has(wd) && d + 7 > length) hit.add(d);
      for (const [nd, week] of dow.nth) if (nd === wd && Math.floor((d - 1) / 7) + 1 === week) hit.add(d);
    }
  }
  return [...hit].sort((a, b) => a - b);
}

/** The weekday nearest `day` without leaving the month (Saturday → Friday, Sunday → Monday). */
function nearestWeekday(day: number, length: number, dowOf: (d: number) => number): number {
  const wd = dowOf(day);
  if (wd === 6) return day > 1 ? day - 1 : day + 2;
  if (wd === 0) return day < length ? day + 1 : day - 2;
  return day;
}
