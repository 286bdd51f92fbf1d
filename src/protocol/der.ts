// A strict DER reader and a DER writer, just what the builder schema needs.
// The reader refuses everything DER forbids (indefinite or non-minimal lengths, non-minimal tags and
// integers, constructed strings) and names the field it was reading in every error.
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

function fail(code: (typeof E)[keyof typeof E], field: string, what: string): never {
  throw new ProtocolError(code, `${field}: ${what}`, { field });
}

/** Reads consecutive TLVs between pos and end of one buffer. */
export class DerCursor {
  constructor(
    readonly buf: Uint8Array,
    public pos: number,
    readonly end: number,
    readonly depth = 0,
  ) {}

  static of(buf: Uint8Array, field: string): DerCursor {
    if (buf.length === 0) fail(E.EMPTY, field, 'empty input');
    // decoded byte fields are views of the input: make them plain Uint8Arrays even when given a Buffer
    const plain = buf.constructor === Uint8Array ? buf : new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
    return new DerCursor(plain, 0, plain.length, 0);
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  /** Reads the next TLV header; `field` names the value being read. */
  next(field: string): Tlv {
    const { buf, end } = this;
    let p = this.pos;
    if (p >= end) fail(E.MISSING_FIELD, field, 'missing (no more bytes in the enclosing value)');
    const id = buf[p++]!;
    const cls = id >> 6;
    const constructed = (id & 0x20) !== 0;
    let tagNo = id & 0x1f;
    if (tagNo === 0x1f) {
      tagNo = 0;
      let first = true;
      for (;;) {
        if (p >= end) fail(E.TRUNCATED, field, 'truncated tag');
        const b = buf[p++]!;
        if (first && b === 0x80) fail(E.NON_MINIMAL_TAG, field, 'tag number with a leading zero group');
        first = false;
        tagNo = tagNo * 128 + (b & 0x7f);
        if (tagNo > 0x1fffff) fail(E.NON_MINIMAL_TAG, field, 'tag number too large');
        if ((b & 0x80) === 0) break;
      }
      if (tagNo < 31) fail(E.NON_MINIMAL_TAG, field, `tag ${tagNo} in the long form`);
    }
    if (p >= end) fail(E.TRUNCATED, field, 'truncated length');
    let len = buf[p++]!;
    if (len === 0x80) fail(E.INDEFINITE_LENGTH, field, 'indefinite length (not DER)');
    if (len > 0x80) {
      const n = len & 0x7f;
      if (n > 6) fail(E.TRUNCATED, field, `length of ${n} bytes is beyond any input`);
      if (p + n > end) fail(E.TRUNCATED, field, 'truncated length');
      if (buf[p] === 0) fail(E.NON_MINIMAL_LENGTH, field, 'length with a leading zero byte');
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + buf[p++]!;
      if (len < 0x80) fail(E.NON_MINIMAL_LENGTH, field, `length ${len} in the long form`);
    }
    if (len > end - p) fail(E.TRUNCATED, field, `value of ${len} bytes but only ${end - p} left`);
    this.pos = p + len;
    return { cls, constructed, tagNo, start: p, end: p + len };
  }

  /** Reads the next TLV and checks its tag. */
  expect(field: string, cls: number, constructed: boolean, tagNo: number): Tlv {
    const tlv = this.next(field);
    if (tlv.cls !== cls || tlv.constructed !== constructed || tlv.tagNo !== tagNo) {
      fail(E.UNEXPECTED_TAG, field, `expected ${tagName(cls, constructed, tagNo)}, got ${tagName(tlv.cls, tlv.constructed, tlv.tagNo)}`);
    }
    return tlv;
  }

  /** True when the next TLV has this identifier (used for OPTIONAL fields). */
  peekIs(cls: number, constructed: boolean, tagNo: number): boolean {
    if (this.pos >= this.end) return false;
    const id = this.buf[this.pos]!;
    return id >> 6 === cls && ((id & 0x20) !== 0) === constructed && (id & 0x1f) === tagNo && tagNo < 31;
  }

  enter(tlv: Tlv, field: string): DerCursor {
    if (this.depth + 1 > MAX_DEPTH) fail(E.TOO_DEEP, field, `nested deeper than ${MAX_DEPTH}`);
    return new DerCursor(this.buf, tlv.start, tlv.end, this.depth + 1);
  }

  /** Enters the next value, which must be a SEQUENCE. */
  sequence(field: string): DerCursor {
    return this.enter(this.expect(field, UNIVERSAL, true, T.SEQUENCE), field);
  }

  /** Enters the next value, which must be an EXPLICIT context tag [n]. */
  explicit(field: string, tagNo: number): DerCursor {
    return this.enter(this.expect(field, CONTEXT, true, tagNo), field);
  }

  /** For SEQUENCE OF loops: call with the count of elements read so far. */
  checkCount(count: number, field: string): void {
    if (count >= MAX_ELEMENTS) fail(E.TOO_MANY_ELEMENTS, field, `more than ${MAX_ELEMENTS} elements`);
  }

  done(field: string): void {
    if (this.pos !== this.end) fail(E.TRAILING_BYTES, field, `${this.end - this.pos} unexpected trailing bytes`);
  }

  bytes(tlv: Tlv): Uint8Array {
    return this.buf.subarray(tlv.start, tlv.end);
  }

  null(field: string): void {
    const tlv = this.expect(field, UNIVERSAL, false, T.NULL);
    if (tlv.end !== tlv.start) fail(E.BAD_NULL, field, 'NULL with content');
  }

  /** A UTF8String's raw content bytes, not validated (uuids, file contents, console lines). */
  rawString(field: string): Uint8Array {
    return this.bytes(this.expect(field, UNIVERSAL, false, T.UTF8));
  }

  utf8(field: string): string {
    return decodeUtf8(this.rawString(field), field);
  }

  bigint(field: string): bigint {
    const tlv = this.expect(field, UNIVERSAL, false, T.INTEGER);
    return readInteger(this.buf, tlv.start, tlv.end, field);
  }

  /** An INTEGER that must be a safe JavaScript integer. */
  int(field: string): number {
    const v = this.bigint(field);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      fail(E.INTEGER_RANGE, field, `integer ${v} out of range`);
    }
    return Number(v);
  }
}

export function readInteger(buf: Uint8Array, start: number, end: number, field: string): bigint {
  const n = end - start;
  if (n === 0) fail(E.BAD_INTEGER, field, 'empty INTEGER');
  if (n > MAX_INTEGER_BYTES) fail(E.INTEGER_RANGE, field, `INTEGER of ${n} bytes is out of range`);
  const b0 = buf[start]!;
  if (n > 1) {
    const b1 = buf[start + 1]!;
    if ((b0 === 0 && b1 < 0x80) || (b0 === 0xff && b1 >= 0x80)) fail(E.BAD_INTEGER, field, 'INTEGER not minimally encoded');
  }
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

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function decodeUtf8(bytes: Uint8Array, field: string): string {
  // fast path: pure ASCII
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return bytes.length < 64 ? String.fromCharCode(...bytes) : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
  try {
    return utf8Decoder.decode(bytes);
  } catch (cause) {
    throw new ProtocolError(E.INVALID_UTF8, `${field}: invalid UTF-8`, { field, cause });
  }
}

// ---------------------------------------------------------------------------------------------
// Writer: build a tree of nodes (lengths known bottom-up), then serialize once into one buffer.

export interface DerNode {
  id: number; // the identifier octet (tag numbers < 31 only)
  len: number; // content length
  prim?: Uint8Array;
  kids?: DerNode[];
}

function headerSize(len: number): number {
  if (len < 0x80) return 2;
  let n = 0;
  for (let l = len; l > 0; l = Math.floor(l / 256)) n++;
  return 2 + n;
}

export function nodeSize(n: DerNode): number {
  return headerSize(n.len) + n.len;
}

export function prim(id: number, bytes: Uint8Array): DerNode {
  return { id, len: bytes.length, prim: bytes };
}

export function cons(id: number, kids: DerNode[]): DerNode {
  let len = 0;
  for (const k of kids) len += nodeSize(k);
  return { id, len, kids };
}

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

const EMPTY = new Uint8Array(0);
export const NULL_NODE: DerNode = { id: ID.NULL, len: 0, prim: EMPTY };

export function seq(kids: DerNode[]): DerNode {
  return cons(ID.SEQUENCE, kids);
}

export function explicit(n: number, inner: DerNode): DerNode {
  return cons(ID.context(n), [inner]);
}

export function rawString(bytes: Uint8Array): DerNode {
  return prim(ID.UTF8, bytes);
}

export function utf8(s: string, field: string): DerNode {
  if (typeof s !== 'string' || !(s as unknown as { isWellFormed(): boolean }).isWellFormed()) throw new ProtocolError(E.INVALID_VALUE, `${field}: expected a well-formed string`, { field });
  return prim(ID.UTF8, Buffer.from(s, 'utf8'));
}

export function integer(v: number | bigint, field: string): DerNode {
  if ((typeof v !== 'number' && typeof v !== 'bigint') || (typeof v === 'number' && !Number.isSafeInteger(v))) {
    throw new ProtocolError(E.INVALID_VALUE, `${field}: ${v} is not a safe integer`, { field });
  }
  let x = BigInt(v);
  const out: number[] = [];
  for (;;) {
    const b = Number(x & 0xffn);
    out.push(b);
    x >>= 8n; // arithmetic shift on bigint
    if ((x === 0n && (b & 0x80) === 0) || (x === -1n && (b & 0x80) !== 0)) break;
  }
  out.reverse();
  return prim(ID.INTEGER, Uint8Array.from(out));
}

function writeNode(n: DerNode, out: Uint8Array, p: number): number {
  out[p++] = n.id;
  const len = n.len;
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
  if (n.prim) {
    out.set(n.prim, p);
    return p + n.prim.length;
  }
  for (const k of n.kids!) p = writeNode(k, out, p);
  return p;
}

/** Serializes a node into a fresh buffer (its own ArrayBuffer when large, so it can be transferred). */
export function serialize(n: DerNode): Uint8Array {
  const size = nodeSize(n);
  const out = size >= 4096 ? Buffer.allocUnsafeSlow(size) : Buffer.allocUnsafe(size);
  const end = writeNode(n, out, 0);
  if (end !== size) throw new Error(`DER writer size mismatch: ${end} != ${size}`);
  return out;
}
