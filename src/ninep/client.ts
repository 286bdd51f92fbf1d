// Our 9P client over TCP for 9P2000, 9P2000.u and 9P2000.L: the raw transactions (version,
// attach, walk, open/lopen, read, write, clunk, remove, stat/getattr, readdir, flush) plus
// path-level conveniences (readFile, writeFile, list, removePath) for tests and tools.
import net from 'node:net';
import {
  decode, decodeDirents, decodeStats, encode, HEADER_SIZE, IOHDRSZ, MAXWELEM, NOFID, NONUNAME, OpenMode, TWRITE_OVERHEAD,
  type Dialect, type Dirent, type Message, type MessageName, type MessageOf, type Qid, type Request, type Stat,
} from './codec.ts';
import { NinepError, NinepRemoteError, Errno } from '../errors/ninep-error.ts';

export interface ConnectOptions {
  host: string;
  port: number;
  /** the dialect to ask for; default 9P2000.u */
  version?: Dialect;
  msize?: number;
  /** attach name; default "" */
  aname?: string;
  uname?: string;
}

type ReplyName<T extends MessageName> = T extends `T${infer R}` ? (`R${R}` extends MessageName ? `R${R}` : never) : never;

interface Pending {
  resolve(m: Message): void;
  reject(e: Error): void;
}

export class NinepClient {
  dialect: Dialect = '9P2000';
  msize = 8192;
  rootFid = NOFID;
  private readonly pending = new Map<number, Pending>();
  private nextTag = 0;
  private nextFid = 1;
  private buffer: Buffer = Buffer.alloc(0);
  private closedError: Error | undefined;
  private readonly closedPromise: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d) => this.onData(d));
    this.closedPromise = new Promise((resolve) => socket.on('close', () => {
      this.fail(new NinepError('ERR_NINEP_CLOSED', 'connection closed', Errno.EIO));
      resolve();
    }));
    socket.on('error', (e) => this.fail(e));
  }

  /** Connects, negotiates version and msize, and attaches the root to `rootFid`. */
  static async connect(opts: ConnectOptions): Promise<NinepClient> {
    const c = await NinepClient.open(opts.host, opts.port);
    try {
      const v = await c.version(opts.msize ?? 65536, opts.version ?? '9P2000.u');
      if (v.version === 'unknown') throw new NinepError('ERR_NINEP_VERSION', `server refused ${opts.version}`, Errno.EPROTO);
      c.rootFid = c.allocFid();
      await c.attach(c.rootFid, opts.uname ?? 'builder', opts.aname ?? '');
      return c;
    } catch (e) {
      c.close();
      throw e;
    }
  }

  /** Only the TCP connection: nothing sent yet. */
  static open(host: string, port: number): Promise<NinepClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port }, () => {
        socket.off('error', reject);
        resolve(new NinepClient(socket));
      });
      socket.once('error', reject);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  /** Resolves when the server (or we) closed the connection. */
  closed(): Promise<void> {
    return this.closedPromise;
  }

  isClosed(): boolean {
    return this.closedError !== undefined;
  }

  allocFid(): number {
    return this.nextFid++;
  }

  private fail(e: Error): void {
    this.closedError ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  private onData(d: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, d]) : d;
    while (this.buffer.length >= 4) {
      const size = this.buffer.readUInt32LE(0);
      if (size < HEADER_SIZE) return this.close();
      if (this.buffer.length < size) return;
      const frame = new Uint8Array(this.buffer.subarray(0, size));
      this.buffer = this.buffer.subarray(size);
      let msg: Message;
      try {
        msg = decode(frame, this.dialect);
      } catch (e) {
        this.fail(e as Error);
        return this.close();
      }
      const p = this.pending.get(msg.tag);
      if (!p) continue;
      this.pending.delete(msg.tag);
      p.resolve(msg);
    }
  }

  private allocTag(): number {
    for (let i = 0; i < 0xffff; i++) {
      const t = this.nextTag;
      this.nextTag = (this.nextTag + 1) % 0xffff;
      if (!this.pending.has(t)) return t;
    }
    throw new NinepError('ERR_NINEP_BUSY', 'no free tag', Errno.EAGAIN);
  }

  /** Sends a request and waits for its reply; Rerror / Rlerror become NinepRemoteError. */
  rpc<R extends Request>(req: R, tag?: number): Promise<MessageOf<ReplyName<R['type']>>> {
    return this.transact(req, tag).then((m) => {
      if (m.type === 'Rerror') throw new NinepRemoteError(m.ename, m.errno);
      if (m.type === 'Rlerror') throw new NinepRemoteError(`error ${m.ecode}`, m.ecode);
      return m as unknown as MessageOf<ReplyName<R['type']>>;
    });
  }

  /** Sends a request and returns whatever comes back under its tag, errors included. */
  transact(req: Request, tag?: number): Promise<Message> {
    if (this.closedError) return Promise.reject(this.closedError);
    const t = tag ?? (req.type === 'Tversion' ? 0xffff : this.allocTag());
    const frame = encode({ ...req, tag: t } as Message, this.dialect);
    return new Promise((resolve, reject) => {
      this.pending.set(t, { resolve, reject });
      this.socket.write(frame);
    });
  }

  /** Writes bytes as they are, for tests of malformed input. */
  sendRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Waits for the reply carrying `tag` (after sendRaw). */
  expectReply(tag: number): Promise<Message> {
    return new Promise((resolve, reject) => {
      if (this.closedError) return reject(this.closedError);
      this.pending.set(tag, { resolve, reject });
    });
  }

  async version(msize: number, version: Dialect): Promise<{ msize: number; version: string }> {
    const r = await this.rpc({ type: 'Tversion', msize, version });
    if (r.version === '9P2000' || r.version === '9P2000.u' || r.version === '9P2000.L') this.dialect = r.version;
    this.msize = r.msize;
    return { msize: r.msize, version: r.version };
  }

  async attach(fid: number, uname: string, aname: string): Promise<Qid> {
    return (await this.rpc({ type: 'Tattach', fid, afid: NOFID, uname, aname, nUname: NONUNAME })).qid;
  }

  async walk(fid: number, newfid: number, wnames: string[]): Promise<Qid[]> {
    return (await this.rpc({ type: 'Twalk', fid, newfid, wnames })).qids;
  }

  /** Opens with Topen (9P2000, .u) or Tlopen (.L); mode is a 9P open mode (OREAD, OWRITE, ORDWR, OTRUNC...). */
  async open(fid: number, mode: number): Promise<{ qid: Qid; iounit: number }> {
    if (this.dialect === '9P2000.L') {
      const flags = (mode & 3) | (mode & OpenMode.OTRUNC ? 0o1000 : 0);
      const r = await this.rpc({ type: 'Tlopen', fid, flags });
      return { qid: r.qid, iounit: r.iounit };
    }
    const r = await this.rpc({ type: 'Topen', fid, mode });
    return { qid: r.qid, iounit: r.iounit };
  }

  async read(fid: number, offset: bigint, count: number): Promise<Uint8Array> {
    return (await this.rpc({ type: 'Tread', fid, offset, count })).data;
  }

  async write(fid: number, offset: bigint, data: Uint8Array): Promise<number> {
    return (await this.rpc({ type: 'Twrite', fid, offset, data })).count;
  }

  async clunk(fid: number): Promise<void> {
    await this.rpc({ type: 'Tclunk', fid });
  }

  async remove(fid: number): Promise<void> {
    await this.rpc({ type: 'Tremove', fid });
  }

  async stat(fid: number): Promise<Stat> {
    return (await this.rpc({ type: 'Tstat', fid })).stat;
  }

  async getattr(fid: number): Promise<MessageOf<'Rgetattr'>> {
    return this.rpc({ type: 'Tgetattr', fid, requestMask: 0x7ffn });
  }

  async readdir(fid: number, offset: bigint, count: number): Promise<Dirent[]> {
    return decodeDirents((await this.rpc({ type: 'Treaddir', fid, offset, count })).data);
  }

  async flush(oldtag: number): Promise<void> {
    await this.rpc({ type: 'Tflush', oldtag });
  }

  /** Walks a fresh fid from the root to `path` ("/jobs/x/ctl"); the caller clunks it. */
  async walkPath(path: string): Promise<number> {
    const names = path.split('/').filter((s) => s !== '');
    const fid = this.allocFid();
    await this.walk(this.rootFid, fid, names.slice(0, MAXWELEM)).then((q) => this.checkWalk(q, names.slice(0, MAXWELEM), path, fid));
    for (let i = MAXWELEM; i < names.length; i += MAXWELEM) {
      const part = names.slice(i, i + MAXWELEM);
      this.checkWalk(await this.walk(fid, fid, part), part, path, fid);
    }
    return fid;
  }

  private checkWalk(qids: Qid[], names: string[], path: string, fid: number): void {
    if (qids.length !== names.length) {
      void this.clunk(fid).catch(() => {});
      throw new NinepRemoteError(`${path}: no such file (at ${names[qids.length]})`, Errno.ENOENT);
    }
  }

  private async withFid<T>(path: string, mode: number | undefined, fn: (fid: number) => Promise<T>): Promise<T> {
    const fid = await this.walkPath(path);
    try {
      if (mode !== undefined) await this.open(fid, mode);
      return await fn(fid);
    } finally {
      await this.clunk(fid).catch(() => {});
    }
  }

  async readFile(path: string): Promise<Uint8Array> {
    return this.withFid(path, OpenMode.OREAD, async (fid) => {
      const parts: Uint8Array[] = [];
      let offset = 0n;
      for (;;) {
        const data = await this.read(fid, offset, this.msize - IOHDRSZ);
        if (data.length === 0) return Buffer.concat(parts);
        parts.push(Buffer.from(data));
        offset += BigInt(data.length);
      }
    });
  }

  async readText(path: string): Promise<string> {
    return Buffer.from(await this.readFile(path)).toString('utf8');
  }

  /** One Twrite per msize-sized piece; our server treats each write as one command. */
  async writeFile(path: string, data: Uint8Array | string, mode: number = OpenMode.OWRITE | OpenMode.OTRUNC): Promise<number> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    return this.withFid(path, mode, async (fid) => {
      let written = 0;
      const max = this.msize - TWRITE_OVERHEAD;
      do {
        written += await this.write(fid, BigInt(written), bytes.subarray(written, written + max));
      } while (written < bytes.length);
      return written;
    });
  }

  /** Names in a directory: stat entries in 9P2000/.u, readdir in .L. */
  async list(path: string): Promise<string[]> {
    return (await this.listStats(path)).map((s) => s.name);
  }

  async listStats(path: string): Promise<{ name: string; qid: Qid; mode?: number; length?: bigint }[]> {
    return this.withFid(path, OpenMode.OREAD, async (fid) => {
      const out: { name: string; qid: Qid; mode?: number; length?: bigint }[] = [];
      if (this.dialect === '9P2000.L') {
        let offset = 0n;
        for (;;) {
          const entries = await this.readdir(fid, offset, this.msize - IOHDRSZ);
          if (entries.length === 0) return out;
          for (const e of entries) out.push({ name: e.name, qid: e.qid });
          offset = entries.at(-1)!.offset;
        }
      }
      let offset = 0n;
      for (;;) {
        const data = await this.read(fid, offset, this.msize - IOHDRSZ);
        if (data.length === 0) return out;
        for (const s of decodeStats(data, this.dialect)) out.push({ name: s.name, qid: s.qid, mode: s.mode, length: s.length });
        offset += BigInt(data.length);
      }
    });
  }

  async statPath(path: string): Promise<Stat> {
    return this.withFid(path, undefined, (fid) => this.stat(fid));
  }

  async removePath(path: string): Promise<void> {
    const fid = await this.walkPath(path);
    await this.remove(fid);
  }
}
