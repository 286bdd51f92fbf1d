// Time ::= CHOICE { UTCTime, GeneralizedTime }: both are read (fractions and offsets allowed);
// GeneralizedTime is written as the original does: "YYYYMMDDhhmmss[.fff]Z", UTC, the fraction
// truncated to milliseconds, without trailing zeros (DER) and omitted when zero.
import { ProtocolError, ProtocolErrorCode as E } from '../errors/protocol-error.ts';
import { type DerCursor, type DerNode, T, UNIVERSAL, prim, ID, tagName } from './der.ts';

const GEN = /^(\d{4})(\d{2})(\d{2})(\d{2})(?:(\d{2})(?:(\d{2})(?:[.,](\d+))?)?)?(Z|[+-]\d{4})$/;
const UTC = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(Z|[+-]\d{4})$/;

function bad(field: string, what: string): never {
  throw new ProtocolError(E.BAD_TIME, `${field}: ${what}`, { field });
}

function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function build(field: string, y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number, zone: string): Date {
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || s > 59) bad(field, 'date or time out of range');
  let offsetMin = 0;
  if (zone !== 'Z') {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(3, 5));
    if (oh > 23 || om > 59) bad(field, `bad time zone offset ${zone}`);
    offsetMin = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, ms);
  return new Date(date.getTime() - offsetMin * 60_000);
}

export function parseGeneralizedTime(text: string, field: string): Date {
  const m = GEN.exec(text);
  if (!m) bad(field, `malformed GeneralizedTime ${JSON.stringify(text)}`);
  const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  return build(field, +m[1]!, +m[2]!, +m[3]!, +m[4]!, m[5] ? +m[5] : 0, m[6] ? +m[6] : 0, ms, m[8]!);
}

export function parseUtcTime(text: string, field: string): Date {
  const m = UTC.exec(text);
  if (!m) bad(field, `malformed UTCTime ${JSON.stringify(text)}`);
  const yy = +m[1]!;
  return build(field, yy < 50 ? 2000 + yy : 1900 + yy, +m[2]!, +m[3]!, +m[4]!, +m[5]!, m[6] ? +m[6] : 0, 0, m[7]!);
}

function ascii(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
}

/** Reads a Time (either form). */
export function readTime(c: DerCursor, field: string): Date {
  const tlv = c.next(field);
  if (tlv.cls === UNIVERSAL && !tlv.constructed && tlv.tagNo === T.GENERALIZED_TIME) return parseGeneralizedTime(ascii(c.bytes(tlv)), field);
  if (tlv.cls === UNIVERSAL && !tlv.constructed && tlv.tagNo === T.UTC_TIME) return parseUtcTime(ascii(c.bytes(tlv)), field);
  throw new ProtocolError(E.UNEXPECTED_TAG, `${field}: expected UTCTime or GeneralizedTime, got ${tagName(tlv.cls, tlv.constructed, tlv.tagNo)}`, { field });
}

/** Reads a UTCTime only (the old schedule entry of the state file). */
export function readUtcTime(c: DerCursor, field: string): Date {
  const tlv = c.expect(field, UNIVERSAL, false, T.UTC_TIME);
  return parseUtcTime(ascii(c.bytes(tlv)), field);
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

export function timeNode(d: Date, field: string): DerNode {
  return prim(ID.GENERALIZED_TIME, Buffer.from(formatGeneralizedTime(d, field), 'latin1'));
}
