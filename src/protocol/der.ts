// A strict DER reader and a DER writer, just what the builder schema needs.
// The reader refuses everything DER forbids (indefinite or non-minimal lengths, non-minimal tags and
// integers, constructed strings) and names the field it was reading in every error.
// Field names are built lazily (a Path plus a key, joined only when an error is thrown): messages of
// many small values would otherwise spend most of their time formatting names nobody reads.
import { isUtf8 } from 'node:buffer';
import { ProtocolError, ProtocolErrorCode as E } from '../errors/protocol-error.ts';

export const UNIVERSAL = 0;
export const CONTEXT = 2;

/** Tag numbers of the universal types we use. */
export const T = {
  INTEGER: 2,
  NULL: 5,
  UTF8: 12,
  SEQUENCE: 16,
  UTC_TIME: 23,
  GENERALIZED_TIME: 24,
} as const;

/** Nesting limit: the deepest value of the schema is about 10 levels; anything far deeper is hostile. */
export const MAX_DEPTH = 32;
/** Elements of one SEQUENCE OF: bounds the memory a frame can make us allocate (objects are larger than their DER). */
export const MAX_ELEMENTS = 1_000_000;
/** Content bytes of an INTEGER: every integer of the schema fits in 8 bytes; 32 leaves room and bounds the work. */
export const MAX_INTEGER_BYTES = 32;

export interface Tlv {
  cls: number;
  constructed: boolean;
  tagNo: number;
  /** content start and end offsets in the cursor's buffer */
  start: number;
  end: number;
}

export function tagName(cls: number, constructed: boolean, tagNo: number): string {
  if (cls === CONTEXT) return `[${tagNo}]${constructed ? '' : ' (primitive)'}`;
  if (cls === UNIVERSAL) {
    const names: Record<number, string> = { 2: 'INTEGER', 5: 'NULL', 12: 'UTF8String', 16: 'SEQUENCE', 23: 'UTCTime', 24: 'GeneralizedTime' };
    const n = names[tagNo] ?? `UNIVERSAL ${tagNo}`;
    return constructed && tagNo !== T.SEQUENCE ? `${n} (constructed)` : !constructed && tagNo === T.SEQUENCE ? `${n} (primitive)` : n;
  }
  return `${cls === 1 ? 'APPLICATION' : 'PRIVATE'} ${tagNo}${constructed ? ' (constructed)' : ''}`;
}

/** Where a value sits, e.g. "Cmd.InfoReply.queues[0].jobs[12].name": a root string and lazily joined steps. */
export type Path = string | PathStep;
/** A key is ".name" (a field, with its dot) or an index (rendered "[i]"). */
export type Key = string | number;

export class PathStep {
  constructor(
    readonly parent: Path,
    readonly key: Key,
  ) {}
  toString(): string {
    return pathText(this);
  }
}

/** The path of a child value. */
export function at(parent: Path, key: Key): PathStep {
  return new PathStep(parent, key);
}

const keyText = (k: Key): string => (typeof k === 'number' ? `[${k}]` : k);

/** The text of a path, with an optional last key. */
export function pathText(p: Path, key?: Key): string {
  let s = key === undefined ? '' : keyText(key);
  while (typeof p !== 'string') {
    s = keyText(p.key) + s;
    p = p.parent;
  }
  return p + s;
}

export function fail(code: (typeof E)[keyof typeof E], path: Path, key: Key | undefined, what: string, cause?: unknown): never {
  const field = pathText(path, key);
  throw new ProtocolError(code, `${field}: ${what}`, cause === undefined ? { field } : { field, cause });
}

type TextBuffer = Buffer & { latin1Slice(start: number, end: number): string; utf8Slice(start: number, end: number): string };

/** Reads consecutive TLVs between pos and end of one buffer. */
export class DerCursor {
  /** The fields of the TLV last read by next()/expect(). */
  cls = 0;
  constructed = false;
  tagNo = 0;
  start = 0;
  vend = 0;

  constructor(
    readonly buf: Uint8Array,
    public pos: number,
    public end: number,
    readonly depth: number,
    private readonly text: TextBuffer,
    /** Cursors by depth, shared by all cursors of one input (see enter()). */
    private readonly cursors: DerCursor[] = [],
  ) {}

  static of(buf: Uint8Array, field: Path): DerCursor {
    if (buf.length === 0) fail(E.EMPTY, field, undefined, 'empty input');
    // decoded byte fields are views of the input: make them plain Uint8Arrays even when given a Buffer
    const plain = buf.constructor === Uint8Array ? buf : new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
    return new DerCursor(plain, 0, plain.length, 0, Buffer.from(plain.buffer, plain.byteOffset, plain.length) as TextBuffer);
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  /** Reads the next TLV header into cls/constructed/tagNo/start/vend (no allocation); `path`+`key` name the value being read. */
  read(path: Path, key?: Key): void {
    const { buf, end } = this;
    let p = this.pos;
    if (p >= end) fail(E.MISSING_FIELD, path, key, 'missing (no more bytes in the enclosing value)');
    const id = buf[p++]!;
    let tagNo = id & 0x1f;
    if (tagNo === 0x1f) {
      tagNo = 0;
      let first = true;
      for (;;) {
        if (p >= end) fail(E.TRUNCATED, path, key, 'truncated tag');
        const b = buf[p++]!;
        if (first && b === 0x80) fail(E.NON_MINIMAL_TAG, path, key, 'tag number with a leading zero group');
        first = false;
        tagNo = tagNo * 128 + (b & 0x7f);
        if (tagNo > 0x1fffff) fail(E.NON_MINIMAL_TAG, path, key, 'tag number too large');
        if ((b & 0x80) === 0) break;
      }
      if (tagNo < 31) fail(E.NON_MINIMAL_TAG, path, key, `tag ${tagNo} in the long form`);
    }
    if (p >= end) fail(E.TRUNCATED, path, key, 'truncated length');
    let len = buf[p++]!;
    if (len === 0x80) fail(E.INDEFINITE_LENGTH, path, key, 'indefinite length (not DER)');
    if (len > 0x80) {
      const n = len & 0x7f;
      if (n > 6) fail(E.TRUNCATED, path, key, `length of ${n} bytes is beyond any input`);
      if (p + n > end) fail(E.TRUNCATED, path, key, 'truncated length');
      if (buf[p] === 0) fail(E.NON_MINIMAL_LENGTH, path, key, 'length with a leading zero byte');
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + buf[p++]!;
      if (len < 0x80) fail(E.NON_MINIMAL_LENGTH, path, key, `length ${len} in the long form`);
    }
    if (len > end - p) fail(E.TRUNCATED, path, key, `value of ${len} bytes but only ${end - p} left`);
    this.pos = p + len;
    this.cls = id >> 6;
    this.constructed = (id & 0x20) !== 0;
    this.tagNo = tagNo;
    this.start = p;
    this.vend = p + len;
  }

  /** Reads the next TLV header. */
  next(path: Path, key?: Key): Tlv {
    this.read(path, key);
    return { cls: this.cls, constructed: this.constructed, tagNo: this.tagNo, start: this.start, end: this.vend };
  }

  /** Reads the next TLV header and checks its tag (the TLV is left in cls/start/vend). */
  private want(path: Path, key: Key | undefined, cls: number, constructed: boolean, tagNo: number): void {
    this.read(path, key);
    if (this.cls !== cls || this.constructed !== constructed || this.tagNo !== tagNo) {
      fail(E.UNEXPECTED_TAG, path, key, `expected ${tagName(cls, constructed, tagNo)}, got ${tagName(this.cls, this.constructed, this.tagNo)}`);
    }
  }

  /** Reads the next TLV and checks its tag. */
  expect(path: Path, cls: number, constructed: boolean, tagNo: number, key?: Key): Tlv {
    this.want(path, key, cls, constructed, tagNo);
    return { cls, constructed, tagNo, start: this.start, end: this.vend };
  }

  /** True when the next TLV has this identifier (used for OPTIONAL fields). */
  peekIs(cls: number, constructed: boolean, tagNo: number): boolean {
    if (this.pos >= this.end) return false;
    const id = this.buf[this.pos]!;
    return id >> 6 === cls && ((id & 0x20) !== 0) === constructed && (id & 0x1f) === tagNo && tagNo < 31;
  }

  /**
   * A cursor over the content of a constructed value. Cursors are reused by depth (one decode would
   * otherwise allocate one per value): the cursor returned is the one the next value entered at the
   * same depth gets, so finish reading it before entering a sibling.
   */
  enter(tlv: Tlv, path: Path, key?: Key): DerCursor {
    return this.enterRange(tlv.start, tlv.end, path, key);
  }

  private enterRange(start: number, end: number, path: Path, key?: Key): DerCursor {
    const depth = this.depth + 1;
    if (depth > MAX_DEPTH) fail(E.TOO_DEEP, path, key, `nested deeper than ${MAX_DEPTH}`);
    let c = this.cursors[depth];
    if (c === undefined) {
      c = new DerCursor(this.buf, start, end, depth, this.text, this.cursors);
      this.cursors[depth] = c;
    } else {
      c.pos = start;
      c.end = end;
    }
    return c;
  }

  /** True when the next value is an empty SEQUENCE (30 00); it is then skipped. */
  skipEmptySequence(): boolean {
    const p = this.pos;
    if (p + 2 <= this.end && this.buf[p] === 0x30 && this.buf[p + 1] === 0) {
      this.pos = p + 2;
      return true;
    }
    return false;
  }

  /** Enters the value whose header was just read by next()/expect(). */
  enterLast(path: Path, key?: Key): DerCursor {
    return this.enterRange(this.start, this.vend, path, key);
  }

  /** Enters the next value, which must be a SEQUENCE. */
  sequence(path: Path, key?: Key): DerCursor {
    this.want(path, key, UNIVERSAL, true, T.SEQUENCE);
    return this.enterRange(this.start, this.vend, path, key);
  }

  /** Enters the next value, which must be an EXPLICIT context tag [n]. */
  explicit(path: Path, tagNo: number, key?: Key): DerCursor {
    this.want(path, key, CONTEXT, true, tagNo);
    return this.enterRange(this.start, this.vend, path, key);
  }

  /** For SEQUENCE OF loops: call with the count of elements read so far. */
  checkCount(count: number, path: Path): void {
    if (count >= MAX_ELEMENTS) fail(E.TOO_MANY_ELEMENTS, path, undefined, `more than ${MAX_ELEMENTS} elements`);
  }

  done(path: Path, key?: Key): void {
    if (this.pos !== this.end) fail(E.TRAILING_BYTES, path, key, `${this.end - this.pos} unexpected trailing bytes`);
  }

  bytes(tlv: Tlv): Uint8Array {
    return this.buf.subarray(tlv.start, tlv.end);
  }

  /** The content of the TLV last read, as a view. */
  lastBytes(): Uint8Array {
    return this.buf.subarray(this.start, this.vend);
  }

  /** The content of the TLV last read as Latin-1 text (for ASCII-only values such as times). */
  lastLatin1(): string {
    return this.text.latin1Slice(this.start, this.vend);
  }

  null(path: Path, key?: Key): void {
    this.want(path, key, UNIVERSAL, false, T.NULL);
    if (this.vend !== this.start) fail(E.BAD_NULL, path, key, 'NULL with content');
  }

  /** A UTF8String's raw content bytes, not validated (uuids, file contents, console lines). */
  rawString(path: Path, key?: Key): Uint8Array {
    this.want(path, key, UNIVERSAL, false, T.UTF8);
    return this.buf.subarray(this.start, this.vend);
  }

  /** A UTF8String, strictly validated. */
  utf8(path: Path, key?: Key): string {
    this.want(path, key, UNIVERSAL, false, T.UTF8);
    const { buf, start, vend } = this;
    for (let i = start; i < vend; i++) {
      if (buf[i]! >= 0x80) {
        if (!isUtf8(buf.subarray(start, vend))) fail(E.INVALID_UTF8, path, key, 'invalid UTF-8');
        return this.text.utf8Slice(start, vend);
      }
    }
    return this.text.latin1Slice(start, vend);
  }

  bigint(path: Path, key?: Key): bigint {
    this.want(path, key, UNIVERSAL, false, T.INTEGER);
    return readInteger(this.buf, this.start, this.vend, path, key);
  }

  /** An INTEGER that must be a safe JavaScript integer. */
  int(path: Path, key?: Key): number {
    this.want(path, key, UNIVERSAL, false, T.INTEGER);
    const { buf, start, vend } = this;
    const n = vend - start;
    if (n > 0 && n <= 6) {
      checkMinimal(buf, start, vend, path, key);
      const b0 = buf[start]!;
      let v = b0 & 0x80 ? b0 - 256 : b0;
      for (let i = start + 1; i < vend; i++) v = v * 256 + buf[i]!;
      return v;
    }
    const v = readInteger(buf, start, vend, path, key);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) fail(E.INTEGER_RANGE, path, key, `integer ${v} out of range`);
    return Number(v);
  }
}

function checkMinimal(buf: Uint8Array, start: number, end: number, path: Path, key?: Key): void {
  if (end - start > 1) {
    const b0 = buf[start]!;
    const b1 = buf[start + 1]!;
    if ((b0 === 0 && b1 < 0x80) || (b0 === 0xff && b1 >= 0x80)) fail(E.BAD_INTEGER, path, key, 'INTEGER not minimally encoded');
  }
}

export function readInteger(buf: Uint8Array, start: number, end: number, path: Path, key?: Key): bigint {
  const n = end - start;
  if (n === 0) fail(E.BAD_INTEGER, path, key, 'empty INTEGER');
  if (n > MAX_INTEGER_BYTES) fail(E.INTEGER_RANGE, path, key, `INTEGER of ${n} bytes is out of range`);
  checkMinimal(buf, start, end, path, key);
  const b0 = buf[start]!;
  if (n <= 6) {
    let v = b0 & 0x80 ? b0 - 256 : b0;
    for (let i = start + 1; i < end; i++) v = v * 256 + buf[i]!;
    return BigInt(v);
  }
  let v = 0n;
  for (let i = start; i < end; i++) v = (v << 8n) | BigInt(buf[i]!);
  if (b0 & 0x80) v -= 1n << BigInt(8 * n);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Writer: the same write function runs twice. The first pass validates and measures (recording the
// length of every constructed value and string in order); the second writes each TLV straight into
// one buffer of the exact size. No intermediate node objects, no per-string buffers.

export const ID = {
  INTEGER: 0x02,
  NULL: 0x05,
  UTF8: 0x0c,
  SEQUENCE: 0x30,
  GENERALIZED_TIME: 0x18,
  context: (n: number): number => {
    if (n < 0 || n > 30) throw new ProtocolError(E.INVALID_VALUE, `context tag ${n} out of range`);
    return 0xa0 | n;
  },
};

function headerSize(len: number): number {
  if (len < 0x80) return 2;
  let n = 0;
  for (let l = len; l > 0; l = Math.floor(l / 256)) n++;
  return 2 + n;
}

/** Strings up to this many UTF-16 units are measured and written by a JS loop; longer ones natively. */
const SHORT_STRING = 48;

/** The UTF-8 length of a string; refuses anything but a well-formed string. */
function utf8Length(s: unknown, path: Path, key?: Key): number {
  if (typeof s !== 'string') fail(E.INVALID_VALUE, path, key, 'expected a well-formed string');
  const len = s.length;
  if (len > SHORT_STRING) {
    if (!(s as unknown as { isWellFormed(): boolean }).isWellFormed()) fail(E.INVALID_VALUE, path, key, 'expected a well-formed string');
    return Buffer.byteLength(s, 'utf8');
  }
  let n = 0;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c < 0xd800 || c > 0xdfff) n += 3;
    else {
      const d = i + 1 < len ? s.charCodeAt(i + 1) : 0;
      if (c > 0xdbff || d < 0xdc00 || d > 0xdfff) fail(E.INVALID_VALUE, path, key, 'expected a well-formed string');
      n += 4;
      i++;
    }
  }
  return n;
}

function intLength(v: number): number {
  let n = 1;
  let lo = -128;
  let hi = 127;
  while (v < lo || v > hi) {
    n++;
    lo *= 256;
    hi = hi * 256 + 255;
  }
  return n;
}

function bigintLength(v: bigint): number {
  let n = 1;
  for (let x = v >> 7n; x !== 0n && x !== -1n; x >>= 8n) n++;
  return n;
}

const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER);
const EMPTY_BUFFER = Buffer.alloc(0) as TextBuffer & { utf8Write(s: string, offset: number, length: number): number };

/** The fraction digits written for a millisecond value: none, or 1..3 without trailing zeros. */
const fracDigits = (ms: number): number => (ms === 0 ? 0 : ms % 100 === 0 ? 1 : ms % 10 === 0 ? 2 : 3);

function twoDigits(out: Uint8Array, p: number, v: number): number {
  out[p] = 0x30 + ((v / 10) | 0);
  out[p + 1] = 0x30 + (v % 10);
  return p + 2;
}

export class DerWriter {
  private emitting = false;
  /** Lengths of constructed values and strings, in the order the measuring pass met them. */
  private sizes = new Float64Array(256);
  private count = 0;
  /** Measuring pass: index in sizes and content start of each open constructed value. */
  private openIndex = new Float64Array(MAX_DEPTH * 2);
  private openStart = new Float64Array(MAX_DEPTH * 2);
  private depth = 0;
  private k = 0;
  pos = 0;
  private out = EMPTY_BUFFER;

  /** Back to a fresh writer's state, its arrays kept (they are overwritten before being read). */
  reset(): void {
    this.emitting = false;
    this.count = 0;
    this.depth = 0;
    this.k = 0;
    this.pos = 0;
    this.out = EMPTY_BUFFER;
  }

  /** Starts the second pass into a buffer of the measured size. */
  startEmitting(): void {
    const size = this.pos;
    const out = size >= 4096 ? Buffer.allocUnsafeSlow(size) : Buffer.allocUnsafe(size);
    this.out = out as typeof EMPTY_BUFFER;
    this.emitting = true;
    this.pos = 0;
    this.k = 0;
  }

  /** The written buffer, after checking the second pass matched the first. */
  result(): Uint8Array {
    if (this.pos !== this.out.length || this.k !== this.count || this.depth !== 0) {
      throw new Error(`DER writer size mismatch: ${this.pos} != ${this.out.length}`);
    }
    return this.out;
  }

  private header(id: number, len: number): void {
    const out = this.out;
    let p = this.pos;
    out[p++] = id;
    if (len < 0x80) out[p++] = len;
    else {
      const hs = headerSize(len) - 2;
      out[p++] = 0x80 | hs;
      let l = len;
      for (let i = hs - 1; i >= 0; i--) {
        out[p + i] = l % 256;
        l = Math.floor(l / 256);
      }
      p += hs;
    }
    this.pos = p;
  }

  /** Opens a constructed value (SEQUENCE, or an EXPLICIT tag with ID.context(n)); close it with end(). */
  begin(id: number): void {
    if (this.emitting) this.header(id, this.sizes[this.k++]!);
    else {
      const d = this.depth++;
      if (d === this.openIndex.length) this.growOpen();
      this.openIndex[d] = this.record(0);
      this.openStart[d] = this.pos;
    }
  }

  end(): void {
    if (this.emitting) return;
    const d = --this.depth;
    const len = this.pos - this.openStart[d]!;
    this.sizes[this.openIndex[d]!] = len;
    this.pos += headerSize(len);
  }

  /** Appends a length to sizes; returns its index. */
  private record(len: number): number {
    const i = this.count++;
    if (i === this.sizes.length) {
      const bigger = new Float64Array(i * 2);
      bigger.set(this.sizes);
      this.sizes = bigger;
    }
    this.sizes[i] = len;
    return i;
  }

  private growOpen(): void {
    const n = this.openIndex.length * 2;
    const index = new Float64Array(n);
    const start = new Float64Array(n);
    index.set(this.openIndex);
    start.set(this.openStart);
    this.openIndex = index;
    this.openStart = start;
  }

  /** A primitive of raw bytes. */
  bytes(id: number, b: Uint8Array): void {
    const n = b.length;
    if (!this.emitting) {
      this.pos += headerSize(n) + n;
      return;
    }
    this.header(id, n);
    this.out.set(b, this.pos);
    this.pos += n;
  }

  null(): void {
    if (this.emitting) {
      this.out[this.pos] = ID.NULL;
      this.out[this.pos + 1] = 0;
    }
    this.pos += 2;
  }

  utf8(s: string, path: Path, key?: Key): void {
    if (!this.emitting) {
      const n = utf8Length(s, path, key);
      this.record(n);
      this.pos += headerSize(n) + n;
      return;
    }
    const n = this.sizes[this.k++]!;
    this.header(ID.UTF8, n);
    const out = this.out;
    const p = this.pos;
    if (n === s.length && n <= SHORT_STRING) for (let i = 0; i < n; i++) out[p + i] = s.charCodeAt(i);
    else out.utf8Write(s, p, n);
    this.pos = p + n;
  }

  integer(v: number | bigint, path: Path, key?: Key): void {
    if (typeof v === 'bigint') {
      if (v <= SAFE_MAX && v >= SAFE_MIN) v = Number(v);
      else return this.bigInteger(v);
    } else if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(E.INVALID_VALUE, path, key, `${v} is not a safe integer`);
    const n = intLength(v);
    if (this.emitting) {
      this.header(ID.INTEGER, n);
      const out = this.out;
      let x = v;
      for (let i = this.pos + n - 1; i >= this.pos; i--) {
        const b = ((x % 256) + 256) % 256;
        out[i] = b;
        x = (x - b) / 256;
      }
    } else this.pos += 2;
    this.pos += n;
  }

  private bigInteger(v: bigint): void {
    const n = bigintLength(v);
    const hs = headerSize(n);
    if (this.emitting) {
      this.header(ID.INTEGER, n);
      let x = v;
      for (let i = this.pos + n - 1; i >= this.pos; i--) {
        this.out[i] = Number(x & 0xffn);
        x >>= 8n;
      }
      this.pos += n;
    } else this.pos += hs + n;
  }

  /** A GeneralizedTime as the original writes it: "YYYYMMDDhhmmss[.fff]Z", UTC, fraction without trailing zeros. */
  time(d: Date, path: Path, key?: Key): void {
    const t = d instanceof Date ? d.getTime() : NaN;
    if (!Number.isFinite(t)) fail(E.INVALID_VALUE, path, key, 'invalid date');
    const y = d.getUTCFullYear();
    if (y < 0 || y > 9999) fail(E.INVALID_VALUE, path, key, `year ${y} outside 0000..9999`);
    const ms = d.getUTCMilliseconds();
    const fd = fracDigits(ms);
    const n = 15 + (fd === 0 ? 0 : fd + 1);
    if (!this.emitting) {
      this.pos += 2 + n;
      return;
    }
    this.header(ID.GENERALIZED_TIME, n);
    const out = this.out;
    let p = this.pos;
    p = twoDigits(out, p, (y / 100) | 0);
    p = twoDigits(out, p, y % 100);
    p = twoDigits(out, p, d.getUTCMonth() + 1);
    p = twoDigits(out, p, d.getUTCDate());
    p = twoDigits(out, p, d.getUTCHours());
    p = twoDigits(out, p, d.getUTCMinutes());
    p = twoDigits(out, p, d.getUTCSeconds());
    if (fd > 0) {
      out[p++] = 0x2e;
      out[p++] = 0x30 + ((ms / 100) | 0);
      if (fd > 1) out[p++] = 0x30 + (((ms / 10) | 0) % 10);
      if (fd > 2) out[p++] = 0x30 + (ms % 10);
    }
    out[p++] = 0x5a;
    this.pos = p;
  }
}

// One writer kept for the next encoding: a new one allocates three typed arrays, a visible cost per message on a
// busy host. An encoding started inside another (none today) gets a fresh writer.
let spare: DerWriter | undefined;

/** Encodes a value with a write function (run twice: measure, then write). */
export function encodeDer<V>(value: V, write: (w: DerWriter, v: V) => void): Uint8Array {
  const w = spare ?? new DerWriter();
  spare = undefined;
  try {
    write(w, value);
    w.startEmitting();
    write(w, value);
    return w.result();
  } finally {
    w.reset();
    spare = w;
  }
}
