// Time ::= CHOICE { UTCTime, GeneralizedTime }: both are read (fractions and offsets allowed);
// GeneralizedTime is written as the original does: "YYYYMMDDhhmmss[.fff]Z", UTC, the fraction
// truncated to milliseconds, without trailing zeros (DER) and omitted when zero.
import { ProtocolError, ProtocolErrorCode as E } from '../errors/protocol-error.ts';
import { type DerCursor, type DerWriter, type Key, type Path, T, UNIVERSAL, fail, tagName } from './der.ts';

const GEN = /^(\d{4})(\d{2})(\d{2})(\d{2})(?:(\d{2})(?:(\d{2})(?:[.,](\d+))?)?)?(Z|[+-]\d{4})$/;
const UTC = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(Z|[+-]\d{4})$/;

function bad(path: Path, what: string, key?: Key): never {
  fail(E.BAD_TIME, path, key, what);
}

function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function build(field: Path, y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number, zone: string, key?: Key): Date {
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || s > 59) bad(field, 'date or time out of range', key);
  if (zone === 'Z' && y >= 100) return new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms));
  let offsetMin = 0;
  if (zone !== 'Z') {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(3, 5));
    if (oh > 23 || om > 59) bad(field, `bad time zone offset ${zone}`, key);
    offsetMin = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, ms);
  return new Date(date.getTime() - offsetMin * 60_000);
}

export function parseGeneralizedTime(text: string, field: Path, key?: Key): Date {
  const m = GEN.exec(text);
  if (!m) bad(field, `malformed GeneralizedTime ${JSON.stringify(text)}`, key);
  const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  return build(field, +m[1]!, +m[2]!, +m[3]!, +m[4]!, m[5] ? +m[5] : 0, m[6] ? +m[6] : 0, ms, m[8]!, key);
}

export function parseUtcTime(text: string, field: Path, key?: Key): Date {
  const m = UTC.exec(text);
  if (!m) bad(field, `malformed UTCTime ${JSON.stringify(text)}`, key);
  const yy = +m[1]!;
  return build(field, yy < 50 ? 2000 + yy : 1900 + yy, +m[2]!, +m[3]!, +m[4]!, +m[5]!, m[6] ? +m[6] : 0, 0, m[7]!, key);
}

const isDigit = (b: number): boolean => b >= 0x30 && b <= 0x39;
const two = (b: Uint8Array, i: number): number => (b[i]! - 0x30) * 10 + b[i + 1]! - 0x30;

/**
 * The form we and the original write, "YYYYMMDDhhmmss[.f+]Z", parsed straight from the bytes;
 * undefined for any other form (which then goes through parseGeneralizedTime).
 */
function parseCommonGeneralizedTime(b: Uint8Array, start: number, end: number, field: Path, key?: Key): Date | undefined {
  const n = end - start;
  if (n < 15 || b[end - 1] !== 0x5a) return undefined;
  for (let i = start; i < start + 14; i++) if (!isDigit(b[i]!)) return undefined;
  let ms = 0;
  if (n > 15) {
    const sep = b[start + 14];
    if ((sep !== 0x2e && sep !== 0x2c) || n < 17) return undefined;
    for (let i = start + 15; i < end - 1; i++) if (!isDigit(b[i]!)) return undefined;
    const digits = Math.min(3, n - 16);
    for (let i = 0; i < 3; i++) ms = ms * 10 + (i < digits ? b[start + 15 + i]! - 0x30 : 0);
  }
  const y = two(b, start) * 100 + two(b, start + 2);
  return build(field, y, two(b, start + 4), two(b, start + 6), two(b, start + 8), two(b, start + 10), two(b, start + 12), ms, 'Z', key);
}

/** Reads a Time (either form). */
export function readTime(c: DerCursor, field: Path, key?: Key): Date {
  c.read(field, key);
  if (c.cls === UNIVERSAL && !c.constructed && c.tagNo === T.GENERALIZED_TIME) {
    return parseCommonGeneralizedTime(c.buf, c.start, c.vend, field, key) ?? parseGeneralizedTime(c.lastLatin1(), field, key);
  }
  if (c.cls === UNIVERSAL && !c.constructed && c.tagNo === T.UTC_TIME) return parseUtcTime(c.lastLatin1(), field, key);
  return fail(E.UNEXPECTED_TAG, field, key, `expected UTCTime or GeneralizedTime, got ${tagName(c.cls, c.constructed, c.tagNo)}`);
}

/** Reads a UTCTime only (the old schedule entry of the state file). */
export function readUtcTime(c: DerCursor, field: Path, key?: Key): Date {
  c.expect(field, UNIVERSAL, false, T.UTC_TIME, key);
  return parseUtcTime(c.lastLatin1(), field, key);
}

const p2 = (n: number): string => String(n).padStart(2, '0');

export function formatGeneralizedTime(d: Date, field: string): string {
  const t = d instanceof Date ? d.getTime() : NaN;
  if (!Number.isFinite(t)) throw new ProtocolError(E.INVALID_VALUE, `${field}: invalid date`, { field });
  const y = d.getUTCFullYear();
  if (y < 0 || y > 9999) throw new ProtocolError(E.INVALID_VALUE, `${field}: year ${y} outside 0000..9999`, { field });
  const ms = d.getUTCMilliseconds();
  const frac = ms === 0 ? '' : '.' + String(ms).padStart(3, '0').replace(/0+$/, '');
  return `${String(y).padStart(4, '0')}${p2(d.getUTCMonth() + 1)}${p2(d.getUTCDate())}${p2(d.getUTCHours())}${p2(d.getUTCMinutes())}${p2(d.getUTCSeconds())}${frac}Z`;
}

export function writeTime(w: DerWriter, d: Date, field: Path, key?: Key): void {
  w.time(d, field, key);
}
