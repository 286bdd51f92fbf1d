// The value encoding of the two record kinds the server reads back by the hundred thousand at start:
// schedule entries (store/schedule) and queued jobs (store/queue). Decoding them as msgpack maps (12–17
// keys each, every key a string to read and compare) and collecting the garbage took most of a restart
// at 100k jobs; a fixed layout is read with a few number reads and one string slice per string field.
//
// A compact record starts with 0xC1, the one byte msgpack never uses; any other first byte is a
// msgpack value (lmdb-js's encoding, which schema version 1 stores hold for every record). Records
// of an unusual shape (extra fields, which the store keeps as given) are written as msgpack too, so
// every value round-trips exactly.
//
// Entry: C1 01 flags trigger catchUp jobType [next] createdAt timeoutSeconds [pendingRuns] [max]
//        name trigger-string(s) [origin] job-strings
// Job:   C1 02 jobType name job-strings
// Numbers are float64 LE; strings a LEB128 byte length and UTF-8. jobType: 0 script, 1 script with
// platform, 2 orb-build; job-strings: script [platform] | opamPackage.
//
// Used as lmdb-js's `encoder` of those sub-databases: `decode` gets lmdb's shared read buffer (its
// `length` set to the value's size) and copies everything out of it.
import { Packr } from 'msgpackr';
import type { CatchUp, Job } from '../protocol/types.ts';
import type { ScheduleEntry, Trigger } from './store.ts';

export const COMPACT_MARK = 0xc1;
const ENTRY = 1;
const JOB = 2;

const F_PAUSED = 1;
const F_NEXT = 2;
const F_ORIGIN = 4;
const F_PENDING = 8;

const T_PERIOD = 0;
const T_CRON = 1;
const T_CRON_TZ = 2;

const C_ONE = 0;
const C_SKIP = 1;
const C_ALL = 2;

const J_SCRIPT = 0;
const J_SCRIPT_PLATFORM = 1;
const J_ORB = 2;

/** What lmdb-js's own encoder of these sub-databases was (schema version 1): plain msgpack maps. */
const msgpack = new Packr({ useRecords: false, copyBuffers: true });

/** True when the stored value is in the compact layout (not msgpack). */
export function isCompact(bytes: Uint8Array): boolean {
  return bytes.length > 1 && bytes[0] === COMPACT_MARK;
}

// ---- writing

class Writer {
  private buf = Buffer.allocUnsafeSlow(256);
  pos = 0;

  reset(): void {
    this.pos = 0;
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v;
  }

  f64(v: number): void {
    this.room(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  str(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.room(n + 5);
    let v = n;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
    this.pos += this.buf.write(s, this.pos, n, 'utf8');
  }

  /** the string's UTF-8 bytes, no length */
  raw(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.room(n);
    this.pos += this.buf.write(s, this.pos, n, 'utf8');
  }

  /** a copy of what was written (lmdb-js may hold the value until its write) */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }

  equals(bytes: Uint8Array, start: number, end: number): boolean {
    if (end - start !== this.pos) return false;
    const b = this.buf;
    for (let i = 0; i < this.pos; i++) if (b[i] !== bytes[start + i]) return false;
    return true;
  }
}

const writer = new Writer();

// ---- shape checks: only these exact shapes are written compact

function isPlain(o: unknown): o is Record<string, unknown> {
  if (typeof o !== 'object' || o === null) return false;
  const proto = Object.getPrototypeOf(o);
  return proto === Object.prototype || proto === null;
}

/** every own key is one of `allowed` and not undefined, and there are `count` of them */
function keysAre(o: Record<string, unknown>, count: number, allowed: readonly string[]): boolean {
  let n = 0;
  for (const k in o) {
    if (!Object.prototype.hasOwnProperty.call(o, k)) continue;
    if (!allowed.includes(k) || o[k] === undefined) return false;
    n++;
  }
  return n === count;
}

const isNum = (v: unknown): v is number => typeof v === 'number';
const isStr = (v: unknown): v is string => typeof v === 'string';

function jobType(j: unknown, name: string | undefined): number {
  if (!isPlain(j) || (name !== undefined && j.name !== name) || !isStr(j.name)) return -1;
  if (j.type === 'script' && isStr(j.script)) {
    if (j.platform === undefined) return keysAre(j, 3, ['type', 'name', 'script']) ? J_SCRIPT : -1;
    return isStr(j.platform) && keysAre(j, 4, ['type', 'name', 'script', 'platform']) ? J_SCRIPT_PLATFORM : -1;
  }
  if (j.type === 'orb-build' && isStr(j.opamPackage)) return keysAre(j, 3, ['type', 'name', 'opamPackage']) ? J_ORB : -1;
  return -1;
}

function triggerType(t: unknown): number {
  if (!isPlain(t)) return -1;
  if (t.type === 'period') return isStr(t.period) && keysAre(t, 2, ['type', 'period']) ? T_PERIOD : -1;
  if (t.type === 'cron' && isStr(t.expr)) {
    if (t.timeZone === undefined) return keysAre(t, 2, ['type', 'expr']) ? T_CRON : -1;
    return isStr(t.timeZone) && keysAre(t, 3, ['type', 'expr', 'timeZone']) ? T_CRON_TZ : -1;
  }
  return -1;
}

function catchUpType(c: unknown): number {
  if (!isPlain(c)) return -1;
  if (c.type === 'one') return keysAre(c, 1, ['type']) ? C_ONE : -1;
  if (c.type === 'skip') return keysAre(c, 1, ['type']) ? C_SKIP : -1;
  if (c.type === 'all') return isNum(c.max) && keysAre(c, 2, ['type', 'max']) ? C_ALL : -1;
  return -1;
}

const ENTRY_KEYS = ['name', 'job', 'trigger', 'next', 'timeoutSeconds', 'catchUp', 'paused', 'createdAt', 'origin', 'pendingRuns'] as const;

function writeJobStrings(w: Writer, type: number, j: Job): void {
  if (type === J_ORB) {
    w.str((j as { opamPackage: string }).opamPackage);
    return;
  }
  w.str((j as { script: string }).script);
  if (type === J_SCRIPT_PLATFORM) w.str((j as { platform: string }).platform);
}

export function encodeEntry(e: ScheduleEntry): Buffer {
  const c = compactEntry(e);
  return c ? writer.take() : Buffer.from(msgpack.pack(e));
}

/** Writes e compact into `writer`; false (nothing usable written) when e's shape is not the compact one. */
function compactEntry(e: ScheduleEntry): boolean {
  if (!isPlain(e) || !isStr(e.name)) return false;
  const hasOrigin = e.origin !== undefined;
  const hasPending = e.pendingRuns !== undefined;
  if (!keysAre(e as unknown as Record<string, unknown>, 8 + (hasOrigin ? 1 : 0) + (hasPending ? 1 : 0), ENTRY_KEYS)) return false;
  if ((e.next !== null && !isNum(e.next)) || !isNum(e.timeoutSeconds) || typeof e.paused !== 'boolean' || !isNum(e.createdAt)) return false;
  if ((hasOrigin && !isStr(e.origin)) || (hasPending && !isNum(e.pendingRuns))) return false;
  const jt = jobType(e.job, e.name);
  const tt = triggerType(e.trigger);
  const ct = catchUpType(e.catchUp);
  if (jt < 0 || tt < 0 || ct < 0) return false;
  const w = writer;
  w.reset();
  w.u8(COMPACT_MARK);
  w.u8(ENTRY);
  w.u8((e.paused ? F_PAUSED : 0) | (e.next !== null ? F_NEXT : 0) | (hasOrigin ? F_ORIGIN : 0) | (hasPending ? F_PENDING : 0));
  w.u8(tt);
  w.u8(ct);
  w.u8(jt);
  if (e.next !== null) w.f64(e.next);
  w.f64(e.createdAt);
  w.f64(e.timeoutSeconds);
  if (hasPending) w.f64(e.pendingRuns!);
  if (ct === C_ALL) w.f64((e.catchUp as { max: number }).max);
  w.str(e.name);
  const t = e.trigger as { period?: string; expr?: string; timeZone?: string };
  if (tt === T_PERIOD) w.str(t.period!);
  else {
    w.str(t.expr!);
    if (tt === T_CRON_TZ) w.str(t.timeZone!);
  }
  if (hasOrigin) w.str(e.origin!);
  writeJobStrings(w, jt, e.job);
  return true;
}

/** Writes j compact into `writer`; false when its shape is not the compact one. */
function compactJob(j: Job): boolean {
  const jt = jobType(j, undefined);
  if (jt < 0) return false;
  const w = writer;
  w.reset();
  w.u8(COMPACT_MARK);
  w.u8(JOB);
  w.u8(jt);
  w.str(j.name);
  writeJobStrings(w, jt, j);
  return true;
}

export function encodeJob(j: Job): Buffer {
  return compactJob(j) ? writer.take() : Buffer.from(msgpack.pack(j));
}

// ---- reading

/** Strings every record repeats (platform, origin, period, time zone): the last one read is reused when the bytes match. */
class Word {
  private bytes = Buffer.alloc(0);
  private value = '';

  read(b: Uint8Array, start: number, end: number): string {
    const n = end - start;
    const last = this.bytes;
    if (n === last.length) {
      let i = 0;
      while (i < n && b[start + i] === last[i]) i++;
      if (i === n) return this.value;
    }
    if (n > 64) return utf8(b, start, end);
    this.value = utf8(b, start, end);
    this.bytes = Buffer.from(b.subarray(start, end));
    return this.value;
  }
}

const utf8Slice = Buffer.prototype.utf8Slice as (this: Uint8Array, start: number, end: number) => string;
const utf8 = (b: Uint8Array, start: number, end: number): string => utf8Slice.call(b, start, end);

class Reader {
  b: Uint8Array = new Uint8Array(0);
  p = 0;
  end = 0;
  private view: DataView = new DataView(new ArrayBuffer(8));
  readonly platform = new Word();
  readonly origin = new Word();
  readonly period = new Word();
  readonly timeZone = new Word();

  at(b: Uint8Array, end: number, p: number): void {
    this.b = b;
    this.end = end;
    this.p = p;
    if (this.view.buffer !== b.buffer || this.view.byteOffset !== b.byteOffset)
      this.view = new DataView(b.buffer, b.byteOffset, b.buffer.byteLength - b.byteOffset);
  }

  f64(): number {
    if (this.p + 8 > this.end) throw new RangeError('truncated compact record');
    const v = this.view.getFloat64(this.p, true);
    this.p += 8;
    return v;
  }

  len(): number {
    let v = 0;
    let shift = 0;
    for (;;) {
      if (this.p >= this.end) throw new RangeError('truncated compact record');
      const c = this.b[this.p++]!;
      v += (c & 0x7f) * 2 ** shift;
      if (c < 0x80) break;
      shift += 7;
    }
    if (this.p + v > this.end) throw new RangeError('truncated compact record');
    return v;
  }

  str(): string {
    const n = this.len();
    const s = n === 0 ? '' : utf8(this.b, this.p, this.p + n);
    this.p += n;
    return s;
  }

  /** Whether the next string is `s` (moving past it when it is); compares UTF-16 to ASCII bytes in place. */
  strIs(s: string): boolean {
    const n = this.len();
    const b = this.b;
    const p = this.p;
    if (n === s.length) {
      let i = 0;
      while (i < n) {
        const c = s.charCodeAt(i);
        if (c >= 0x80 || c !== b[p + i]) break;
        i++;
      }
      if (i === n) {
        this.p += n;
        return true;
      }
      if (s.charCodeAt(i) < 0x80) return false;
    }
    // not ASCII: compare the UTF-8 bytes
    if (Buffer.byteLength(s, 'utf8') !== n) return false;
    const w = writer;
    w.reset();
    w.raw(s);
    if (!w.equals(b, p, p + n)) return false;
    this.p += n;
    return true;
  }

  word(w: Word): string {
    const n = this.len();
    const s = w.read(this.b, this.p, this.p + n);
    this.p += n;
    return s;
  }

  /** the job's type and strings, the name given */
  job(type: number, name: string): Job {
    if (type === J_ORB) return { type: 'orb-build', name, opamPackage: this.str() };
    const script = this.str();
    if (type === J_SCRIPT) return { type: 'script', name, script };
    if (type !== J_SCRIPT_PLATFORM) throw new RangeError(`compact record: job type ${type}`);
    return { type: 'script', name, script, platform: this.word(this.platform) };
  }
}

const reader = new Reader();

/** Whether the rest of the job record at r (after its name) is exactly `known`'s type and strings. */
function holds(r: Reader, jt: number, known: Job): boolean {
  const p = r.p;
  try {
    if (known.type === 'orb-build') return jt === J_ORB && r.strIs(known.opamPackage) && r.p === r.end;
    if (known.platform === undefined) return jt === J_SCRIPT && r.strIs(known.script) && r.p === r.end;
    return jt === J_SCRIPT_PLATFORM && r.strIs(known.script) && r.strIs(known.platform) && r.p === r.end;
  } finally {
    r.p = p;
  }
}

function sizeOf(bytes: Uint8Array, size?: unknown): number {
  // lmdb-js passes its shared buffer with `length` set to the value's size (and sometimes the size too)
  return typeof size === 'number' ? size : bytes.length;
}

function fromMsgpack(bytes: Uint8Array, end: number): unknown {
  return msgpack.unpack(Buffer.from(bytes.buffer, bytes.byteOffset, end));
}

/** Whether the last entry decodeEntry read was compact (its strings flat copies: see LoadMappers). */
export let lastEntryCompact = false;

export function decodeEntry(bytes: Uint8Array, size?: unknown): ScheduleEntry {
  const end = sizeOf(bytes, size);
  lastEntryCompact = end >= 2 && bytes[0] === COMPACT_MARK;
  if (!lastEntryCompact) return fromMsgpack(bytes, end) as ScheduleEntry;
  if (bytes[1] !== ENTRY || end < 6) throw new RangeError(`compact record: kind ${bytes[1]} (${end} bytes) where a schedule entry was expected`);
  const r = reader;
  r.at(bytes, end, 2);
  const flags = bytes[2]!;
  const tt = bytes[3]!;
  const ct = bytes[4]!;
  const jt = bytes[5]!;
  r.p = 6;
  const next = flags & F_NEXT ? r.f64() : null;
  const createdAt = r.f64();
  const timeoutSeconds = r.f64();
  const pendingRuns = flags & F_PENDING ? r.f64() : undefined;
  const max = ct === C_ALL ? r.f64() : 0;
  const name = r.str();
  const share = entryEncoding.shared;
  let trigger: Trigger;
  if (tt === T_PERIOD) {
    const period = r.word(r.period) as Extract<Trigger, { type: 'period' }>['period'];
    trigger = share ? sharedPeriod(period) : { type: 'period', period };
  } else if (tt === T_CRON) trigger = { type: 'cron', expr: r.str() };
  else if (tt === T_CRON_TZ) trigger = { type: 'cron', expr: r.str(), timeZone: r.word(r.timeZone) };
  else throw new RangeError(`compact record: trigger type ${tt}`);
  if (ct > C_ALL) throw new RangeError(`compact record: catch-up type ${ct}`);
  const catchUp: CatchUp =
    ct === C_ONE ? (share ? SHARED_ONE : { type: 'one' }) : ct === C_SKIP ? (share ? SHARED_SKIP : { type: 'skip' }) : { type: 'all', max };
  const origin = flags & F_ORIGIN ? r.word(r.origin) : undefined;
  const job = r.job(jt, name);
  if (origin !== undefined && pendingRuns !== undefined)
    return { name, job, trigger, next, timeoutSeconds, catchUp, paused: (flags & F_PAUSED) !== 0, createdAt, origin, pendingRuns };
  const e: ScheduleEntry = { name, job, trigger, next, timeoutSeconds, catchUp, paused: (flags & F_PAUSED) !== 0, createdAt };
  if (origin !== undefined) e.origin = origin;
  if (pendingRuns !== undefined) e.pendingRuns = pendingRuns;
  return e;
}

/**
 * Reads a queued job. `same(name)` may name a job already in memory (its schedule entry's): when the
 * record holds exactly that job, that object is returned and nothing else is decoded.
 */
export function decodeJob(bytes: Uint8Array, size?: unknown, same?: (name: string) => Job | undefined): Job {
  const end = sizeOf(bytes, size);
  if (end < 2 || bytes[0] !== COMPACT_MARK) return fromMsgpack(bytes, end) as Job;
  if (bytes[1] !== JOB || end < 3) throw new RangeError(`compact record: kind ${bytes[1]} (${end} bytes) where a job was expected`);
  const r = reader;
  r.at(bytes, end, 3);
  const jt = bytes[2]!;
  const name = r.str();
  if (same) {
    const known = same(name);
    if (known && holds(r, jt, known)) return known;
  }
  return r.job(jt, name);
}

/** lmdb-js `encoder` of store/schedule; `decode` copies out of lmdb's buffer */
export const entryEncoding = {
  encode: encodeEntry,
  decode: decodeEntry,
  /**
   * While set (a load, synchronously), entries share one trigger object per period and one catch-up
   * object per kind without parameters: at 100k entries, 200k objects fewer to allocate and collect.
   * Their holder must not mutate them (the server never does).
   */
  shared: false,
};

const SHARED_ONE: CatchUp = { type: 'one' };
const SHARED_SKIP: CatchUp = { type: 'skip' };
const periods = new Map<string, Trigger>();

function sharedPeriod(period: Extract<Trigger, { type: 'period' }>['period']): Trigger {
  let t = periods.get(period);
  if (t === undefined) {
    if (periods.size > 16) periods.clear();
    periods.set(period, (t = { type: 'period', period }));
  }
  return t;
}

/**
 * lmdb-js `encoder` of store/queue. While `same` is set (during a load, synchronously), a record
 * byte-for-byte equal to the job it names is that job object.
 */
export class JobEncoding {
  same: ((name: string) => Job | undefined) | undefined = undefined;
  encode = (j: Job): Buffer => encodeJob(j);
  decode = (bytes: Uint8Array, size?: unknown): Job => decodeJob(bytes, size, this.same);
}
