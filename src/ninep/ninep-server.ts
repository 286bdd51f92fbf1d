// A generic 9P server over TCP serving a VDir tree in 9P2000, 9P2000.u or 9P2000.L, whichever
// Tversion asks for. Each connection has its own fid table and processes its requests one at a
// time in arrival order (nothing in our trees blocks), which makes Tflush simple: a request
// still queued is dropped, one being handled is answered before the Rflush.
import net from 'node:net';
import {
  decode, encode, encodeDirent, encodeStat, peekHeader, messageName, DMDIR, HEADER_SIZE, IOHDRSZ, NOFID, OpenMode, QidType,
  type Dialect, type Message, type MessageOf, type Stat,
} from './codec.ts';
import { qidOf, type VDir, type VNode } from './vfs.ts';
import { Errno, NinepError, badFid, invalid, notFound, permissionDenied, unsupported } from '../errors/ninep-error.ts';
import { BuilderError } from '../errors/builder-error.ts';
import { systemClock, type Clock } from '../scheduler/clock.ts';

export interface NinepServerOptions {
  root: VDir;
  /** The largest msize we agree to (the client may ask for less). */
  maxMsize?: number;
  maxFidsPerConnection?: number;
  /** Requests queued on one connection before new ones are refused with EAGAIN. */
  maxPendingPerConnection?: number;
  clock?: Clock;
  log?: (line: string) => void;
  /** Owner name shown in stat. */
  owner?: string;
  /** Sees every decoded request and every reply (debugging). */
  trace?: (direction: 'in' | 'out', msg: Message) => void;
}

const MIN_MSIZE = 256;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const O_ACCMODE = 3;
const AT_REMOVEDIR = 0x200;
const P9_GETATTR_BASIC = 0x7ffn;
const V9FS_MAGIC = 0x01021997;
const SETATTR_MODE = 0x1, SETATTR_UID = 0x2, SETATTR_GID = 0x4, SETATTR_SIZE = 0x8;

interface OpenState {
  read: boolean;
  write: boolean;
  removeOnClunk: boolean;
}

interface Fid {
  node: VNode;
  /** Ancestors from the root down, for walking "..". */
  parents: VNode[];
  open?: OpenState;
  snapshot?: Uint8Array;
  /** 9P2000/.u directory reads: encoded stats taken at offset 0, and where the next read must start. */
  dirStats?: Uint8Array[];
  dirIndex?: number;
  dirOffset?: bigint;
  /** 9P2000.L readdir: the listing taken at offset 0. */
  dirents?: VNode[];
}

interface Queued {
  tag: number;
  frame: Uint8Array;
}

type Reply = Message | { type: 'error'; error: unknown };

export class NinepServer {
  private readonly server: net.Server;
  private readonly connections = new Set<Connection>();
  readonly startedAt: number;

  constructor(readonly opts: NinepServerOptions) {
    this.startedAt = Math.floor((opts.clock ?? systemClock).now() / 1000);
    this.server = net.createServer((socket) => {
      const c = new Connection(this, socket);
      this.connections.add(c);
      socket.on('close', () => this.connections.delete(c));
    });
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        this.server.on('error', (e) => this.log(`9p listener error: ${e.message}`));
        const a = this.server.address() as net.AddressInfo;
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  close(): Promise<void> {
    for (const c of this.connections) c.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  log(line: string): void {
    this.opts.log?.(line);
  }

  connectionCount(): number {
    return this.connections.size;
  }
}

class Connection {
  private dialect: Dialect | undefined;
  private msize: number;
  private readonly fids = new Map<number, Fid>();
  private readonly queue: Queued[] = [];
  private current: number | undefined;
  private readonly flushesAfterCurrent: number[] = [];
  private pumping = false;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private closed = false;
  private readonly maxMsize: number;
  private readonly maxFids: number;
  private readonly maxPending: number;

  constructor(
    private readonly server: NinepServer,
    private readonly socket: net.Socket,
  ) {
    this.maxMsize = server.opts.maxMsize ?? 512 * 1024;
    this.maxFids = server.opts.maxFidsPerConnection ?? 1024;
    this.maxPending = server.opts.maxPendingPerConnection ?? 64;
    this.msize = this.maxMsize;
    socket.setNoDelay(true);
    socket.on('data', (d) => {
      try {
        this.onData(d);
      } catch (e) {
        this.server.log(`9p connection dropped after an internal error: ${(e as Error).message}`);
        this.destroy();
      }
    });
    socket.on('error', () => this.destroy());
    socket.on('close', () => {
      this.closed = true;
      this.fids.clear();
    });
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    this.chunks.push(d);
    this.buffered += d.length;
    while (!this.closed && this.buffered >= 4) {
      const head = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      this.chunks = [head];
      const size = head.readUInt32LE(0);
      if (size < HEADER_SIZE) {
        this.server.log(`9p frame of size ${size} is shorter than a header: closing the connection`);
        return this.destroy();
      }
      if (size > this.msize) {
        // The stream cannot be trusted past a frame we refuse to buffer: answer if we can, then close.
        if (head.length >= HEADER_SIZE) {
          const tag = head.readUInt16LE(5);
          this.send(this.errorReply(tag, new NinepError('ERR_NINEP_MSIZE', `message of ${size} bytes exceeds msize ${this.msize}`, Errno.EMSGSIZE)));
          this.socket.end();
          this.closed = true;
          return;
        }
        return;
      }
      if (head.length < size) return;
      const frame = new Uint8Array(head.subarray(0, size));
      const rest = head.subarray(size);
      this.chunks = rest.length ? [rest] : [];
      this.buffered = rest.length;
      this.onFrame(frame);
    }
  }

  private onFrame(frame: Uint8Array): void {
    const h = peekHeader(frame)!;
    if (messageName(h.id) === 'Tflush' && frame.length === HEADER_SIZE + 2) {
      const oldtag = new DataView(frame.buffer, frame.byteOffset).getUint16(HEADER_SIZE, true);
      const i = this.queue.findIndex((q) => q.tag === oldtag);
      if (i >= 0) this.queue.splice(i, 1);
      if (this.current === oldtag) this.flushesAfterCurrent.push(h.tag);
      else this.send({ type: 'Rflush', tag: h.tag });
      return;
    }
    if (this.current === h.tag || this.queue.some((q) => q.tag === h.tag)) {
      this.send(this.errorReply(h.tag, invalid(`tag ${h.tag} is already in use by an outstanding request`)));
      return;
    }
    if (this.queue.length >= this.maxPending) {
      this.send(this.errorReply(h.tag, new NinepError('ERR_NINEP_BUSY', `too many outstanding requests (limit ${this.maxPending})`, Errno.EAGAIN)));
      return;
    }
    this.queue.push({ tag: h.tag, frame });
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const q = this.queue.shift()!;
        this.current = q.tag;
        let reply: Reply;
        try {
          reply = await this.handleFrame(q.frame);
        } catch (error) {
          reply = { type: 'error', error };
        }
        this.current = undefined;
        this.send(reply.type === 'error' ? this.errorReply(q.tag, reply.error) : reply);
        for (const t of this.flushesAfterCurrent.splice(0)) this.send({ type: 'Rflush', tag: t });
      }
    } finally {
      this.pumping = false;
    }
  }

  private send(msg: Message): void {
    if (this.closed) return;
    this.server.opts.trace?.('out', msg);
    try {
      this.socket.write(encode(msg, this.dialect ?? '9P2000'));
    } catch (e) {
      // A reply that does not encode (a name too long for a 9P string) becomes an error reply.
      if (msg.type !== 'Rerror' && msg.type !== 'Rlerror') this.send(this.errorReply(msg.tag, e));
    }
  }

  private errorReply(tag: number, error: unknown): Message {
    const { message, errno } = describeError(error);
    if (!(error instanceof BuilderError)) this.server.log(`9p request failed unexpectedly: ${(error as Error)?.stack ?? message}`);
    if (this.dialect === '9P2000.L') return { type: 'Rlerror', tag, ecode: errno };
    return { type: 'Rerror', tag, ename: message, errno };
  }

  private async handleFrame(frame: Uint8Array): Promise<Reply> {
    const msg = decode(frame, this.dialect ?? '9P2000');
    this.server.opts.trace?.('in', msg);
    if (msg.type === 'Tversion') return this.version(msg);
    if (!this.dialect) throw new NinepError('ERR_NINEP_NO_VERSION', 'Tversion must come first', Errno.EPROTO);
    if (msg.type[0] !== 'T') throw invalid(`unexpected message ${msg.type} from a client`);
    return this.handle(msg);
  }

  private version(m: MessageOf<'Tversion'>): Message {
    this.fids.clear();
    const msize = Math.min(m.msize, this.maxMsize);
    if (msize < MIN_MSIZE) {
      throw new NinepError('ERR_NINEP_MSIZE', `msize ${m.msize} is below the minimum of ${MIN_MSIZE}`, Errno.EMSGSIZE);
    }
    let version: Dialect | 'unknown';
    if (m.version === '9P2000.L') version = '9P2000.L';
    else if (m.version === '9P2000.u') version = '9P2000.u';
    else if (m.version.startsWith('9P2000')) version = '9P2000';
    else version = 'unknown';
    this.msize = msize;
    this.dialect = version === 'unknown' ? undefined : version;
    return { type: 'Rversion', tag: m.tag, msize, version };
  }

  private fid(n: number): Fid {
    const f = this.fids.get(n);
    if (!f) throw badFid(n);
    return f;
  }

  private newFid(n: number, f: Fid): void {
    if (n === NOFID) throw invalid('NOFID cannot name a file');
    if (this.fids.has(n)) throw new NinepError('ERR_NINEP_FID_IN_USE', `fid ${n} is already in use`, Errno.EBADF);
    if (this.fids.size >= this.maxFids) throw new NinepError('ERR_NINEP_TOO_MANY_FIDS', `too many fids (limit ${this.maxFids})`, Errno.EMFILE);
    this.fids.set(n, f);
  }

  private async handle(m: Message): Promise<Message> {
    const tag = m.tag;
    switch (m.type) {
      case 'Tauth':
        // ENOENT is how diod says it: libnpclient reads it as "auth not required" and attaches.
        throw new NinepError('ERR_NINEP_NO_AUTH', 'authentication not required', Errno.ENOENT);
      case 'Tattach': {
        if (m.afid !== NOFID) throw new NinepError('ERR_NINEP_NO_AUTH', 'authentication not required: afid must be NOFID', Errno.EINVAL);
        const root = this.server.opts.root;
        this.newFid(m.fid, { node: root, parents: [] });
        return { type: 'Rattach', tag, qid: qidOf(root) };
      }
      case 'Twalk':
        return this.walk(m);
      case 'Topen': {
        const f = this.unopened(m.fid);
        const acc = m.mode & 3;
        const truncate = (m.mode & OpenMode.OTRUNC) !== 0;
        this.openFid(f, acc === OpenMode.OREAD || acc === OpenMode.OEXEC || acc === OpenMode.ORDWR, acc === OpenMode.OWRITE || acc === OpenMode.ORDWR || truncate, (m.mode & OpenMode.ORCLOSE) !== 0);
        return { type: 'Ropen', tag, qid: qidOf(f.node), iounit: this.iounit() };
      }
      case 'Tlopen': {
        const f = this.unopened(m.fid);
        const acc = m.flags & O_ACCMODE;
        const truncate = (m.flags & 0o1000) !== 0;
        this.openFid(f, acc === 0 || acc === 2, acc === 1 || acc === 2 || truncate, false);
        return { type: 'Rlopen', tag, qid: qidOf(f.node), iounit: this.iounit() };
      }
      case 'Tread':
        return { type: 'Rread', tag, data: await this.read(m) };
      case 'Twrite': {
        const f = this.fid(m.fid);
        if (!f.open?.write) throw new NinepError('ERR_NINEP_NOT_OPEN', `fid ${m.fid} is not open for writing`, Errno.EBADF);
        if (f.node.kind !== 'file' || !f.node.write) throw permissionDenied(`${f.node.name} is read-only`);
        await f.node.write(m.data);
        return { type: 'Rwrite', tag, count: m.data.length };
      }
      case 'Tclunk': {
        const f = this.fid(m.fid);
        this.fids.delete(m.fid);
        if (f.open?.removeOnClunk && f.node.remove) {
          try {
            await f.node.remove();
          } catch (e) {
            this.server.log(`9p remove-on-clunk of ${f.node.name} failed: ${(e as Error).message}`);
          }
        }
        return { type: 'Rclunk', tag };
      }
      case 'Tremove': {
        const f = this.fid(m.fid);
        this.fids.delete(m.fid);
        await this.removeNode(f.node, f.parents.length === 0);
        return { type: 'Rremove', tag };
      }
      case 'Tunlinkat': {
        const d = this.fid(m.dirfid);
        if (d.node.kind !== 'dir') throw new NinepError('ERR_NINEP_NOT_DIR', `${d.node.name} is not a directory`, Errno.ENOTDIR);
        const child = await d.node.lookup(m.name);
        if (!child) throw notFound(m.name);
        if ((m.flags & AT_REMOVEDIR) !== 0 && child.kind !== 'dir') {
          throw new NinepError('ERR_NINEP_NOT_DIR', `${m.name} is not a directory`, Errno.ENOTDIR);
        }
        await this.removeNode(child, false);
        return { type: 'Runlinkat', tag };
      }
      case 'Tstat':
        return { type: 'Rstat', tag, stat: await this.stat(this.fid(m.fid)) };
      case 'Twstat': {
        const f = this.fid(m.fid);
        checkWstat(f.node, m.stat);
        return { type: 'Rwstat', tag };
      }
      case 'Tgetattr':
        return this.getattr(tag, this.fid(m.fid));
      case 'Tsetattr': {
        const f = this.fid(m.fid);
        if (m.valid & (SETATTR_MODE | SETATTR_UID | SETATTR_GID)) throw new NinepError('ERR_NINEP_PERMISSION', `cannot change the mode or owner of ${f.node.name}`, Errno.EPERM);
        if (m.valid & SETATTR_SIZE && (m.size !== 0n || f.node.kind !== 'file' || !f.node.write)) {
          throw new NinepError('ERR_NINEP_PERMISSION', `cannot change the size of ${f.node.name}`, Errno.EPERM);
        }
        return { type: 'Rsetattr', tag };
      }
      case 'Treaddir':
        return { type: 'Rreaddir', tag, data: await this.readdir(m) };
      case 'Tstatfs':
        this.fid(m.fid);
        return { type: 'Rstatfs', tag, fsType: V9FS_MAGIC, bsize: 4096, blocks: 0n, bfree: 0n, bavail: 0n, files: 0n, ffree: 0n, fsid: 0n, namelen: 255 };
      case 'Tfsync':
        this.fid(m.fid);
        return { type: 'Rfsync', tag };
      case 'Tlock':
        this.fid(m.fid);
        return { type: 'Rlock', tag, status: 0 };
      case 'Tgetlock':
        this.fid(m.fid);
        return { type: 'Rgetlock', tag, lockType: 2 /* F_UNLCK */, start: m.start, length: m.length, procId: m.procId, clientId: m.clientId };
      case 'Txattrwalk':
      case 'Txattrcreate':
        throw unsupported('extended attributes are not supported');
      case 'Treadlink':
        throw invalid('there are no symbolic links here');
      case 'Tcreate':
      case 'Tlcreate':
      case 'Tmkdir':
      case 'Tsymlink':
      case 'Tmknod':
      case 'Tlink':
        throw new NinepError('ERR_NINEP_PERMISSION', 'files cannot be created here: write a job definition to /clone', Errno.EPERM);
      case 'Trename':
      case 'Trenameat':
        throw new NinepError('ERR_NINEP_PERMISSION', 'files cannot be renamed', Errno.EPERM);
      case 'Tflush':
        // Only a malformed Tflush (wrong length) gets here; well-formed ones are answered on arrival.
        return { type: 'Rflush', tag };
      default:
        throw invalid(`unexpected message ${m.type}`);
    }
  }

  private iounit(): number {
    return this.msize - IOHDRSZ;
  }

  private unopened(n: number): Fid {
    const f = this.fid(n);
    if (f.open) throw new NinepError('ERR_NINEP_ALREADY_OPEN', `fid ${n} is already open`, Errno.EBADF);
    return f;
  }

  private openFid(f: Fid, read: boolean, write: boolean, removeOnClunk: boolean): void {
    const node = f.node;
    if (node.kind === 'dir') {
      if (write) throw new NinepError('ERR_NINEP_IS_DIR', `${node.name} is a directory`, Errno.EISDIR);
    } else {
      if (read && !node.read) throw permissionDenied(`${node.name} is write-only`);
      if (write && !node.write) throw permissionDenied(`${node.name} is read-only`);
    }
    if (removeOnClunk && !node.remove) throw permissionDenied(`${node.name} cannot be removed`);
    f.open = { read, write, removeOnClunk };
  }

  private async walk(m: MessageOf<'Twalk'>): Promise<Message> {
    const f = this.fid(m.fid);
    // The spec forbids walking an open fid; diod's tools walk from an open directory to a new fid, so only the in-place walk is refused.
    if (f.open && m.newfid === m.fid) throw new NinepError('ERR_NINEP_ALREADY_OPEN', `cannot walk open fid ${m.fid} in place`, Errno.EBADF);
    if (m.newfid !== m.fid && this.fids.has(m.newfid)) {
      throw new NinepError('ERR_NINEP_FID_IN_USE', `fid ${m.newfid} is already in use`, Errno.EBADF);
    }
    let node = f.node;
    let parents = f.parents;
    const qids = [];
    for (const name of m.wnames) {
      let next: VNode | undefined;
      let nextParents = parents;
      if (node.kind !== 'dir') {
        if (qids.length === 0) throw new NinepError('ERR_NINEP_NOT_DIR', `${node.name} is not a directory`, Errno.ENOTDIR);
        break;
      }
      if (name === '..') {
        next = parents.at(-1) ?? node;
        nextParents = parents.slice(0, -1);
      } else if (name !== '.' && name !== '' && !name.includes('/')) {
        next = await node.lookup(name);
        nextParents = [...parents, node];
      }
      if (!next) {
        if (qids.length === 0) throw notFound(name);
        break;
      }
      qids.push(qidOf(next));
      node = next;
      parents = nextParents;
    }
    if (qids.length === m.wnames.length) {
      if (m.newfid === m.fid) this.fids.set(m.fid, { node, parents });
      else this.newFid(m.newfid, { node, parents });
    }
    return { type: 'Rwalk', tag: m.tag, qids };
  }

  private async read(m: MessageOf<'Tread'>): Promise<Uint8Array> {
    const f = this.fid(m.fid);
    if (!f.open?.read) throw new NinepError('ERR_NINEP_NOT_OPEN', `fid ${m.fid} is not open for reading`, Errno.EBADF);
    const count = Math.min(m.count, this.msize - IOHDRSZ);
    const node = f.node;
    if (node.kind === 'file') {
      if (m.offset === 0n || !f.snapshot) f.snapshot = node.read ? await node.read() : new Uint8Array();
      if (m.offset >= BigInt(f.snapshot.length)) return new Uint8Array();
      const at = Number(m.offset);
      return f.snapshot.subarray(at, at + count);
    }
    if (this.dialect === '9P2000.L') throw new NinepError('ERR_NINEP_IS_DIR', `${node.name} is a directory: use readdir`, Errno.EISDIR);
    if (m.offset === 0n || !f.dirStats) {
      const children = await node.list();
      f.dirStats = [];
      for (const c of children) f.dirStats.push(encodeStat(await this.statOf(c, [...f.parents, node]), this.dialect!));
      f.dirIndex = 0;
      f.dirOffset = 0n;
    }
    if (m.offset !== f.dirOffset) throw invalid(`directory read at offset ${m.offset}: the next read must start at ${f.dirOffset}`);
    const parts: Uint8Array[] = [];
    let used = 0;
    let i = f.dirIndex!;
    while (i < f.dirStats.length && used + f.dirStats[i]!.length <= count) {
      parts.push(f.dirStats[i]!);
      used += f.dirStats[i]!.length;
      i++;
    }
    if (parts.length === 0 && i < f.dirStats.length) throw invalid(`read count ${count} is too small for the next directory entry`);
    f.dirIndex = i;
    f.dirOffset = f.dirOffset! + BigInt(used);
    return Buffer.concat(parts);
  }

  private async readdir(m: MessageOf<'Treaddir'>): Promise<Uint8Array> {
    const f = this.fid(m.fid);
    if (f.node.kind !== 'dir') throw new NinepError('ERR_NINEP_NOT_DIR', `${f.node.name} is not a directory`, Errno.ENOTDIR);
    if (!f.open?.read) throw new NinepError('ERR_NINEP_NOT_OPEN', `fid ${m.fid} is not open for reading`, Errno.EBADF);
    if (m.offset === 0n || !f.dirents) f.dirents = await f.node.list();
    const count = Math.min(m.count, this.msize - IOHDRSZ);
    const parts: Uint8Array[] = [];
    let used = 0;
    for (let i = Number(m.offset); i < f.dirents.length; i++) {
      const c = f.dirents[i]!;
      const entry = encodeDirent({ qid: qidOf(c), offset: BigInt(i + 1), type: c.kind === 'dir' ? QidType.DIR : QidType.FILE, name: c.name });
      if (used + entry.length > count) break;
      parts.push(entry);
      used += entry.length;
    }
    return Buffer.concat(parts);
  }

  private async removeNode(node: VNode, isRoot: boolean): Promise<void> {
    if (isRoot || !node.remove) throw new NinepError('ERR_NINEP_PERMISSION', `${isRoot ? '/' : node.name} cannot be removed`, Errno.EPERM);
    await node.remove();
  }

  private async length(node: VNode): Promise<number> {
    if (node.kind === 'dir' || !node.read) return 0;
    return (await node.read()).length;
  }

  private stat(f: Fid): Promise<Stat> {
    return this.statOf(f.node, f.parents);
  }

  private async statOf(node: VNode, parents: VNode[]): Promise<Stat> {
    const owner = this.server.opts.owner ?? 'builder';
    const time = node.mtime ?? this.server.startedAt;
    return {
      type: 0, dev: 0, qid: qidOf(node), mode: (node.kind === 'dir' ? DMDIR : 0) | node.perm, atime: time, mtime: time,
      length: BigInt(await this.length(node)), name: parents.length === 0 && node === this.server.opts.root ? '/' : node.name,
      uid: owner, gid: owner, muid: owner, extension: '', nUid: 0, nGid: 0, nMuid: 0,
    };
  }

  private async getattr(tag: number, f: Fid): Promise<Message> {
    const node = f.node;
    const size = BigInt(await this.length(node));
    const time = BigInt(node.mtime ?? this.server.startedAt);
    return {
      type: 'Rgetattr', tag, valid: P9_GETATTR_BASIC, qid: qidOf(node),
      mode: (node.kind === 'dir' ? S_IFDIR : S_IFREG) | node.perm, uid: 0, gid: 0, nlink: node.kind === 'dir' ? 2n : 1n,
      rdev: 0n, size, blksize: 4096n, blocks: (size + 511n) / 512n, atimeSec: time, atimeNsec: 0n, mtimeSec: time, mtimeNsec: 0n,
      ctimeSec: time, ctimeNsec: 0n, btimeSec: 0n, btimeNsec: 0n, gen: 0n, dataVersion: 0n,
    };
  }
}

/** Twstat may only touch what we can honour: nothing, times, or truncation of a writable file. */
function checkWstat(node: VNode, s: Stat): void {
  const keeps = (v: number, ones: number) => v === ones;
  if (s.name !== '' && s.name !== node.name) throw new NinepError('ERR_NINEP_PERMISSION', 'files cannot be renamed', Errno.EPERM);
  if (!keeps(s.mode, 0xffffffff) && (s.mode & 0o777) !== node.perm) {
    throw new NinepError('ERR_NINEP_PERMISSION', `cannot change the mode of ${node.name}`, Errno.EPERM);
  }
  if (s.uid !== '' || s.gid !== '') throw new NinepError('ERR_NINEP_PERMISSION', `cannot change the owner of ${node.name}`, Errno.EPERM);
  if (s.length !== 0xffffffffffffffffn && !(s.length === 0n && node.kind === 'file' && node.write)) {
    throw new NinepError('ERR_NINEP_PERMISSION', `cannot change the length of ${node.name}`, Errno.EPERM);
  }
}

/** The text and errno of an error reply: ours carry both, others become EIO with their message. */
export function describeError(error: unknown): { message: string; errno: number } {
  if (error instanceof NinepError) return { message: error.message, errno: error.errno };
  if (error instanceof BuilderError) return { message: error.message, errno: errnoForCode(error.code) };
  const message = error instanceof Error ? error.message : String(error);
  return { message: message || 'internal error', errno: Errno.EIO };
}

/** Maps a backend's BuilderError code to an errno by its wording (documented in jobs-backend.ts). */
function errnoForCode(code: string): number {
  if (/NOT_FOUND|UNKNOWN_JOB|NO_SUCH/.test(code)) return Errno.ENOENT;
  if (/EXISTS|DUPLICATE/.test(code)) return Errno.EEXIST;
  if (/PERMISSION|READ_ONLY/.test(code)) return Errno.EACCES;
  return Errno.EINVAL;
}
