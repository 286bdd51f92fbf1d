// The 9P message codec for 9P2000, 9P2000.u and 9P2000.L: every frame is little-endian
// size[4] type[1] tag[2] body, where size counts the whole frame. Each message is described by a
// field list; fields marked `ext` exist only in .u and .L (n_uname, errno) and stat's .u tail
// exists only in .u. Decoding is strict: short bodies, trailing bytes and bad UTF-8 are refused.
import { NinepDecodeError } from '../errors/ninep-error.ts';

export type Dialect = '9P2000' | '9P2000.u' | '9P2000.L';

export const NOTAG = 0xffff;
export const NOFID = 0xffffffff;
export const NONUNAME = 0xffffffff;
export const HEADER_SIZE = 7;
/** Twalk may name at most this many elements. */
export const MAXWELEM = 16;

export const QidType = { DIR: 0x80, APPEND: 0x40, EXCL: 0x20, AUTH: 0x08, TMP: 0x04, FILE: 0x00 } as const;
export const DMDIR = 0x80000000;
/** Topen modes (9P2000, .u). */
export const OpenMode = { OREAD: 0, OWRITE: 1, ORDWR: 2, OEXEC: 3, OTRUNC: 0x10, ORCLOSE: 0x40 } as const;

export interface Qid {
  type: number;
  version: number;
  path: bigint;
}

/** The 9P2000 stat structure; the last four fields travel only in 9P2000.u. */
export interface Stat {
  type: number;
  dev: number;
  qid: Qid;
  mode: number;
  atime: number;
  mtime: number;
  length: bigint;
  name: string;
  uid: string;
  gid: string;
  muid: string;
  extension: string;
  nUid: number;
  nGid: number;
  nMuid: number;
}

/** One entry of a 9P2000.L Rreaddir. */
export interface Dirent {
  qid: Qid;
  offset: bigint;
  type: number;
  name: string;
}

type Kind = 'u8' | 'u16' | 'u32' | 'u64' | 'str' | 'qid' | 'wnames' | 'qids' | 'data' | 'stat';
interface KindValue {
  u8: number;
  u16: number;
  u32: number;
  u64: bigint;
  str: string;
  qid: Qid;
  wnames: string[];
  qids: Qid[];
  data: Uint8Array;
  stat: Stat;
}
/** [field name, kind] or [field name, kind, 'ext'] for fields only in .u and .L. */
type Field = readonly [string, Kind] | readonly [string, Kind, 'ext'];

const u32 = <N extends string>(n: N) => [n, 'u32'] as const;
const u64 = <N extends string>(n: N) => [n, 'u64'] as const;
const str = <N extends string>(n: N) => [n, 'str'] as const;
const qid = <N extends string>(n: N) => [n, 'qid'] as const;

export const MESSAGES = {
  // 9P2000.L
  Rlerror: { id: 7, fields: [u32('ecode')] },
  Tstatfs: { id: 8, fields: [u32('fid')] },
  Rstatfs: {
    id: 9,
    fields: [u32('fsType'), u32('bsize'), u64('blocks'), u64('bfree'), u64('bavail'), u64('files'), u64('ffree'), u64('fsid'), u32('namelen')],
  },
  Tlopen: { id: 12, fields: [u32('fid'), u32('flags')] },
  Rlopen: { id: 13, fields: [qid('qid'), u32('iounit')] },
  Tlcreate: { id: 14, fields: [u32('fid'), str('name'), u32('flags'), u32('mode'), u32('gid')] },
  Rlcreate: { id: 15, fields: [qid('qid'), u32('iounit')] },
  Tsymlink: { id: 16, fields: [u32('fid'), str('name'), str('symtgt'), u32('gid')] },
  Rsymlink: { id: 17, fields: [qid('qid')] },
  Tmknod: { id: 18, fields: [u32('dfid'), str('name'), u32('mode'), u32('major'), u32('minor'), u32('gid')] },
  Rmknod: { id: 19, fields: [qid('qid')] },
  Trename: { id: 20, fields: [u32('fid'), u32('dfid'), str('name')] },
  Rrename: { id: 21, fields: [] },
  Treadlink: { id: 22, fields: [u32('fid')] },
  Rreadlink: { id: 23, fields: [str('target')] },
  Tgetattr: { id: 24, fields: [u32('fid'), u64('requestMask')] },
  Rgetattr: {
    id: 25,
    fields: [
      u64('valid'), qid('qid'), u32('mode'), u32('uid'), u32('gid'), u64('nlink'), u64('rdev'), u64('size'),
      u64('blksize'), u64('blocks'), u64('atimeSec'), u64('atimeNsec'), u64('mtimeSec'), u64('mtimeNsec'),
      u64('ctimeSec'), u64('ctimeNsec'), u64('btimeSec'), u64('btimeNsec'), u64('gen'), u64('dataVersion'),
    ],
  },
  Tsetattr: {
    id: 26,
    fields: [u32('fid'), u32('valid'), u32('mode'), u32('uid'), u32('gid'), u64('size'), u64('atimeSec'), u64('atimeNsec'), u64('mtimeSec'), u64('mtimeNsec')],
  },
  Rsetattr: { id: 27, fields: [] },
  Txattrwalk: { id: 30, fields: [u32('fid'), u32('newfid'), str('name')] },
  Rxattrwalk: { id: 31, fields: [u64('size')] },
  Txattrcreate: { id: 32, fields: [u32('fid'), str('name'), u64('attrSize'), u32('flags')] },
  Rxattrcreate: { id: 33, fields: [] },
  Treaddir: { id: 40, fields: [u32('fid'), u64('offset'), u32('count')] },
  Rreaddir: { id: 41, fields: [['data', 'data']] },
  Tfsync: { id: 50, fields: [u32('fid'), u32('datasync')] },
  Rfsync: { id: 51, fields: [] },
  Tlock: { id: 52, fields: [u32('fid'), ['lockType', 'u8'], u32('flags'), u64('start'), u64('length'), u32('procId'), str('clientId')] },
  Rlock: { id: 53, fields: [['status', 'u8']] },
  Tgetlock: { id: 54, fields: [u32('fid'), ['lockType', 'u8'], u64('start'), u64('length'), u32('procId'), str('clientId')] },
  Rgetlock: { id: 55, fields: [['lockType', 'u8'], u64('start'), u64('length'), u32('procId'), str('clientId')] },
  Tlink: { id: 70, fields: [u32('dfid'), u32('fid'), str('name')] },
  Rlink: { id: 71, fields: [] },
  Tmkdir: { id: 72, fields: [u32('dfid'), str('name'), u32('mode'), u32('gid')] },
  Rmkdir: { id: 73, fields: [qid('qid')] },
  Trenameat: { id: 74, fields: [u32('olddirfid'), str('oldname'), u32('newdirfid'), str('newname')] },
  Rrenameat: { id: 75, fields: [] },
  Tunlinkat: { id: 76, fields: [u32('dirfid'), str('name'), u32('flags')] },
  Runlinkat: { id: 77, fields: [] },
  // 9P2000 (and .u where marked)
  Tversion: { id: 100, fields: [u32('msize'), str('version')] },
  Rversion: { id: 101, fields: [u32('msize'), str('version')] },
  Tauth: { id: 102, fields: [u32('afid'), str('uname'), str('aname'), ['nUname', 'u32', 'ext']] },
  Rauth: { id: 103, fields: [qid('aqid')] },
  Tattach: { id: 104, fields: [u32('fid'), u32('afid'), str('uname'), str('aname'), ['nUname', 'u32', 'ext']] },
  Rattach: { id: 105, fields: [qid('qid')] },
  Rerror: { id: 107, fields: [str('ename'), ['errno', 'u32', 'ext']] },
  Tflush: { id: 108, fields: [['oldtag', 'u16']] },
  Rflush: { id: 109, fields: [] },
  Twalk: { id: 110, fields: [u32('fid'), u32('newfid'), ['wnames', 'wnames']] },
  Rwalk: { id: 111, fields: [['qids', 'qids']] },
  Topen: { id: 112, fields: [u32('fid'), ['mode', 'u8']] },
  Ropen: { id: 113, fields: [qid('qid'), u32('iounit')] },
  Tcreate: { id: 114, fields: [u32('fid'), str('name'), u32('perm'), ['mode', 'u8'], ['extension', 'str', 'ext']] },
  Rcreate: { id: 115, fields: [qid('qid'), u32('iounit')] },
  Tread: { id: 116, fields: [u32('fid'), u64('offset'), u32('count')] },
  Rread: { id: 117, fields: [['data', 'data']] },
  Twrite: { id: 118, fields: [u32('fid'), u64('offset'), ['data', 'data']] },
  Rwrite: { id: 119, fields: [u32('count')] },
  Tclunk: { id: 120, fields: [u32('fid')] },
  Rclunk: { id: 121, fields: [] },
  Tremove: { id: 122, fields: [u32('fid')] },
  Rremove: { id: 123, fields: [] },
  Tstat: { id: 124, fields: [u32('fid')] },
  Rstat: { id: 125, fields: [['stat', 'stat']] },
  Twstat: { id: 126, fields: [u32('fid'), ['stat', 'stat']] },
  Rwstat: { id: 127, fields: [] },
} as const satisfies Record<string, { id: number; fields: readonly Field[] }>;

type Schemas = typeof MESSAGES;
export type MessageName = keyof Schemas;
type FieldsOf<N extends MessageName> = Schemas[N]['fields'][number];
export type MessageOf<N extends MessageName> = { type: N; tag: number } & {
  -readonly [F in FieldsOf<N> as F[0]]: KindValue[F[1]];
};
export type Message = { [N in MessageName]: MessageOf<N> }[MessageName];
/** Constructs a message without the tag, for callers that let a client pick the tag. */
export type Request = { [N in MessageName]: Omit<MessageOf<N>, 'tag'> }[MessageName];

const NAME_BY_ID = new Map<number, MessageName>();
for (const [name, schema] of Object.entries(MESSAGES)) NAME_BY_ID.set(schema.id, name as MessageName);

export function messageName(id: number): MessageName | undefined {
  return NAME_BY_ID.get(id);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** Reads little-endian fields out of one frame's body; every read is bounds-checked. */
export class Reader {
  private pos: number;
  constructor(
    private readonly buf: Uint8Array,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
  }
  private view = (): DataView => new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  private need(n: number, what: string): number {
    if (this.pos + n > this.end) throw new NinepDecodeError(`truncated message: ${what} needs ${n} bytes, ${this.end - this.pos} left`);
    const at = this.pos;
    this.pos += n;
    return at;
  }
  remaining(): number {
    return this.end - this.pos;
  }
  u8(): number {
    return this.buf[this.need(1, 'u8')]!;
  }
  u16(): number {
    return this.view().getUint16(this.need(2, 'u16'), true);
  }
  u32(): number {
    return this.view().getUint32(this.need(4, 'u32'), true);
  }
  u64(): bigint {
    return this.view().getBigUint64(this.need(8, 'u64'), true);
  }
  bytes(n: number, what: string): Uint8Array {
    const at = this.need(n, what);
    return this.buf.subarray(at, at + n);
  }
  str(): string {
    const n = this.u16();
    const bytes = this.bytes(n, 'string');
    try {
      return utf8.decode(bytes);
    } catch {
      throw new NinepDecodeError('string is not valid UTF-8');
    }
  }
  qid(): Qid {
    return { type: this.u8(), version: this.u32(), path: this.u64() };
  }
  stat(dialect: Dialect): Stat {
    const size = this.u16();
    const start = this.pos;
    this.need(size, 'stat');
    const r = new Reader(this.buf, start, start + size);
    const s: Stat = {
      type: r.u16(), dev: r.u32(), qid: r.qid(), mode: r.u32(), atime: r.u32(), mtime: r.u32(), length: r.u64(),
      name: r.str(), uid: r.str(), gid: r.str(), muid: r.str(), extension: '', nUid: NONUNAME, nGid: NONUNAME, nMuid: NONUNAME,
    };
    if (dialect === '9P2000.u') {
      s.extension = r.str();
      s.nUid = r.u32();
      s.nGid = r.u32();
      s.nMuid = r.u32();
    }
    if (r.remaining() !== 0) throw new NinepDecodeError(`stat has ${r.remaining()} trailing bytes`);
    return s;
  }
}

/** Grows as fields are written; `finish` patches the frame size. */
export class Writer {
  private buf = new Uint8Array(64);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private room(n: number): number {
    if (this.length + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }
  u8(v: number): void {
    const at = this.room(1);
    this.buf[at] = v & 0xff;
  }
  // room() may replace buf and view, so it runs before they are read.
  u16(v: number): void {
    const at = this.room(2);
    this.view.setUint16(at, v, true);
  }
  u32(v: number): void {
    const at = this.room(4);
    this.view.setUint32(at, v >>> 0, true);
  }
  u64(v: bigint): void {
    const at = this.room(8);
    this.view.setBigUint64(at, BigInt.asUintN(64, v), true);
  }
  bytes(b: Uint8Array): void {
    const at = this.room(b.length);
    this.buf.set(b, at);
  }
  str(s: string): void {
    const b = utf8Encoder.encode(s);
    if (b.length > 0xffff) throw new NinepDecodeError(`string of ${b.length} bytes does not fit a 9P string`);
    this.u16(b.length);
    this.bytes(b);
  }
  qid(q: Qid): void {
    this.u8(q.type);
    this.u32(q.version);
    this.u64(q.path);
  }
  stat(s: Stat, dialect: Dialect): void {
    const sizeAt = this.room(2);
    const start = this.length;
    this.u16(s.type);
    this.u32(s.dev);
    this.qid(s.qid);
    this.u32(s.mode);
    this.u32(s.atime);
    this.u32(s.mtime);
    this.u64(s.length);
    this.str(s.name);
    this.str(s.uid);
    this.str(s.gid);
    this.str(s.muid);
    if (dialect === '9P2000.u') {
      this.str(s.extension);
      this.u32(s.nUid);
      this.u32(s.nGid);
      this.u32(s.nMuid);
    }
    this.view.setUint16(sizeAt, this.length - start, true);
  }
  patchU32(at: number, v: number): void {
    this.view.setUint32(at, v, true);
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

const hasExt = (d: Dialect) => d !== '9P2000';

function writeField(w: Writer, kind: Kind, value: unknown, dialect: Dialect): void {
  switch (kind) {
    case 'u8': return w.u8(value as number);
    case 'u16': return w.u16(value as number);
    case 'u32': return w.u32(value as number);
    case 'u64': return w.u64(value as bigint);
    case 'str': return w.str(value as string);
    case 'qid': return w.qid(value as Qid);
    case 'wnames': {
      const names = value as string[];
      w.u16(names.length);
      for (const n of names) w.str(n);
      return;
    }
    case 'qids': {
      const qids = value as Qid[];
      w.u16(qids.length);
      for (const q of qids) w.qid(q);
      return;
    }
    case 'data': {
      const data = value as Uint8Array;
      w.u32(data.length);
      w.bytes(data);
      return;
    }
    case 'stat': {
      // Rstat and Twstat wrap the stat (which has its own size) in one more size[2].
      const inner = new Writer();
      inner.stat(value as Stat, dialect);
      const bytes = inner.result();
      w.u16(bytes.length);
      w.bytes(bytes);
      return;
    }
  }
}

function readField(r: Reader, kind: Kind, dialect: Dialect): unknown {
  switch (kind) {
    case 'u8': return r.u8();
    case 'u16': return r.u16();
    case 'u32': return r.u32();
    case 'u64': return r.u64();
    case 'str': return r.str();
    case 'qid': return r.qid();
    case 'wnames': {
      const n = r.u16();
      if (n > MAXWELEM) throw new NinepDecodeError(`walk of ${n} elements exceeds ${MAXWELEM}`);
      return Array.from({ length: n }, () => r.str());
    }
    case 'qids': {
      const n = r.u16();
      if (n > MAXWELEM) throw new NinepDecodeError(`walk reply of ${n} qids exceeds ${MAXWELEM}`);
      return Array.from({ length: n }, () => r.qid());
    }
    case 'data': return r.bytes(r.u32(), 'data');
    case 'stat': {
      const n = r.u16();
      const inner = new Reader(r.bytes(n, 'stat'));
      const s = inner.stat(dialect);
      if (inner.remaining() !== 0) throw new NinepDecodeError('stat wrapper has trailing bytes');
      return s;
    }
  }
}

const EXT_DEFAULTS: Record<string, unknown> = { nUname: NONUNAME, errno: 0, extension: '' };

/** Encodes one message as a whole frame in the given dialect. */
export function encode(msg: Message, dialect: Dialect): Uint8Array {
  const schema = MESSAGES[msg.type];
  const w = new Writer();
  w.u32(0);
  w.u8(schema.id);
  w.u16(msg.tag);
  const record = msg as unknown as Record<string, unknown>;
  for (const f of schema.fields as readonly Field[]) {
    if (f[2] === 'ext' && !hasExt(dialect)) continue;
    writeField(w, f[1], record[f[0]] ?? EXT_DEFAULTS[f[0]], dialect);
  }
  w.patchU32(0, w.length);
  return w.result();
}

/** Decodes one whole frame (its size field already checked by the caller's framing). */
export function decode(frame: Uint8Array, dialect: Dialect): Message {
  if (frame.length < HEADER_SIZE) throw new NinepDecodeError(`frame of ${frame.length} bytes is shorter than the 7-byte header`);
  const r = new Reader(frame);
  const size = r.u32();
  if (size !== frame.length) throw new NinepDecodeError(`size field ${size} does not match frame length ${frame.length}`);
  const id = r.u8();
  const tag = r.u16();
  const name = NAME_BY_ID.get(id);
  if (!name) throw new NinepDecodeError(`unknown message type ${id}`);
  const out: Record<string, unknown> = { type: name, tag };
  for (const f of MESSAGES[name].fields as readonly Field[]) {
    if (f[2] === 'ext' && !hasExt(dialect)) {
      out[f[0]] = EXT_DEFAULTS[f[0]];
      continue;
    }
    out[f[0]] = readField(r, f[1], dialect);
  }
  if (r.remaining() !== 0) throw new NinepDecodeError(`${name} has ${r.remaining()} trailing bytes`);
  return out as unknown as Message;
}

/** Reads just the header of a frame: what a server needs to answer an undecodable one. */
export function peekHeader(frame: Uint8Array): { size: number; id: number; tag: number } | undefined {
  if (frame.length < HEADER_SIZE) return undefined;
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  return { size: v.getUint32(0, true), id: v.getUint8(4), tag: v.getUint16(5, true) };
}

/** The concatenated stat entries a 9P2000/.u directory read returns. */
export function encodeStat(s: Stat, dialect: Dialect): Uint8Array {
  const w = new Writer();
  w.stat(s, dialect);
  return w.result();
}

export function decodeStats(data: Uint8Array, dialect: Dialect): Stat[] {
  const r = new Reader(data);
  const out: Stat[] = [];
  while (r.remaining() > 0) out.push(r.stat(dialect));
  return out;
}

export function encodeDirent(d: Dirent): Uint8Array {
  const w = new Writer();
  w.qid(d.qid);
  w.u64(d.offset);
  w.u8(d.type);
  w.str(d.name);
  return w.result();
}

export function decodeDirents(data: Uint8Array): Dirent[] {
  const r = new Reader(data);
  const out: Dirent[] = [];
  while (r.remaining() > 0) out.push({ qid: r.qid(), offset: r.u64(), type: r.u8(), name: r.str() });
  return out;
}

/** Size of an Rread / Rreaddir frame before its data: header + count[4]. */
export const IOHDRSZ = HEADER_SIZE + 4;
/** Twrite's overhead: header + fid[4] offset[8] count[4]. */
export const TWRITE_OVERHEAD = HEADER_SIZE + 16;
