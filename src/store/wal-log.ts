// The store's write-ahead log: the server's only synchronous write per commit. A commit's changes
// (each one key of one sub-database: its new value bytes, or a deletion) are appended as one record
// and made durable with one `fdatasync`; LMDB receives them later, many commits in one durable
// transaction (a checkpoint, wal-committer.ts). One `fdatasync` of a record in place costs about
// half of LMDB's commit, which writes a leaf-to-root path in each B-tree and flushes twice.
//
// Two segment files, `wal-0.log` and `wal-1.log`, beside LMDB's files. Generation g is written to
// `wal-(g % 2).log` from its start; a rotation starts g + 1 in the other file, which only happens once
// everything of g - 1 is in LMDB. The files are filled with zeros ahead of the records (in steps of
// GROW_BYTES), so that appending a record changes no file size and its `fdatasync` flushes the data
// alone, no journal commit. A record: payload length (u32), CRC-32 of generation and payload (u32),
// generation (u64), then the payload. Reading a segment stops at the first record that is short,
// fails its CRC or has another generation (the older tail of a reused file, or a torn write).
// Replaying both segments, older generation first, over LMDB gives the state of the last record:
// every change is a whole value or a deletion, so a change already in LMDB is written again unharmed.
import diagnostics from 'node:diagnostics_channel';
import { closeSync, constants, existsSync, fdatasyncSync, fsyncSync, openSync, readFileSync, unlinkSync, writeSync, fstatSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { crc32 } from 'node:zlib';
import { STORE_FLUSH_CHANNEL, type StoreStallMessage } from '../observability/process-stats.ts';
import { decodeKey, type LayerWrite } from './write-layer.ts';

export const WAL_FILES = ['wal-0.log', 'wal-1.log'] as const;
/** zeros written ahead of the records at a time */
export const GROW_BYTES = 256 * 1024;
const HEADER = 16;
const PUT = 1;
const DELETE = 2;
const flushChannel = diagnostics.channel(STORE_FLUSH_CHANNEL);

export interface WalWrite {
  db: string;
  write: LayerWrite;
}

interface Segment {
  gen: number;
  writes: WalWrite[];
}

/** Every change the segments in `dir` hold, in the order to apply them (older generation first). */
export function readWal(dir: string): { writes: WalWrite[]; lastGen: number } {
  const segments: Segment[] = [];
  for (const name of WAL_FILES) {
    const path = join(dir, name);
    if (!existsSync(path)) continue;
    const s = readSegment(readFileSync(path));
    if (s) segments.push(s);
  }
  segments.sort((a, b) => a.gen - b.gen);
  return { writes: segments.flatMap((s) => s.writes), lastGen: segments.at(-1)?.gen ?? 0 };
}

function readSegment(file: Buffer): Segment | undefined {
  let gen: number | undefined;
  const writes: WalWrite[] = [];
  let at = 0;
  while (at + HEADER <= file.length) {
    const len = file.readUInt32LE(at);
    if (len === 0 || at + HEADER + len > file.length) break;
    const g = Number(file.readBigUInt64LE(at + 8));
    if (gen !== undefined && g !== gen) break;
    if (crc32(file.subarray(at + 8, at + HEADER + len)) !== file.readUInt32LE(at + 4)) break;
    gen = g;
    decodePayload(file.subarray(at + HEADER, at + HEADER + len), writes);
    at += HEADER + len;
  }
  return gen === undefined ? undefined : { gen, writes };
}

function decodePayload(p: Buffer, out: WalWrite[]): void {
  let at = 0;
  while (at < p.length) {
    const kind = p[at]!;
    const dbLen = p[at + 1]!;
    const db = p.toString('utf8', at + 2, at + 2 + dbLen);
    at += 2 + dbLen;
    const keyLen = p.readUInt16LE(at);
    const keyBytes = Buffer.from(p.subarray(at + 2, at + 2 + keyLen));
    at += 2 + keyLen;
    let bytes: Buffer | null = null;
    if (kind === PUT) {
      const valLen = p.readUInt32LE(at);
      bytes = Buffer.from(p.subarray(at + 4, at + 4 + valLen));
      at += 4 + valLen;
    } else if (kind !== DELETE) {
      throw new Error(`write-ahead log: unknown change kind ${kind}`);
    }
    out.push({ db, write: { key: decodeKey(keyBytes), keyBytes, bytes } });
  }
}

function encodeRecord(gen: number, writes: readonly WalWrite[]): Buffer {
  let size = HEADER;
  for (const { db, write } of writes) size += 2 + Buffer.byteLength(db) + 2 + write.keyBytes.length + (write.bytes ? 4 + write.bytes.length : 0);
  const b = Buffer.allocUnsafe(size);
  let at = HEADER;
  for (const { db, write } of writes) {
    b[at] = write.bytes ? PUT : DELETE;
    const dbLen = b.write(db, at + 2, 'utf8');
    b[at + 1] = dbLen;
    at += 2 + dbLen;
    b.writeUInt16LE(write.keyBytes.length, at);
    write.keyBytes.copy(b, at + 2);
    at += 2 + write.keyBytes.length;
    if (write.bytes) {
      b.writeUInt32LE(write.bytes.length, at);
      write.bytes.copy(b, at + 4);
      at += 4 + write.bytes.length;
    }
  }
  b.writeUInt32LE(size - HEADER, 0);
  b.writeBigUInt64LE(BigInt(gen), 8);
  b.writeUInt32LE(crc32(b.subarray(8)), 4);
  return b;
}

/** The writing end: appends records to the current generation's segment. */
export class WalLog {
  private readonly fds: (number | undefined)[] = [undefined, undefined];
  private readonly sizes = [0, 0];
  private offset = 0;
  /** set when a sync failed: what reached the disk is unknown, so nothing more is written */
  private broken: unknown;

  private constructor(
    readonly dir: string,
    private gen: number,
  ) {}

  /** Starts a new log in `dir` at generation `gen` (the segment files must not exist). */
  static create(dir: string, gen = 1): WalLog {
    // the segment is made at the first append: a server on a full disk starts, and its commits fail as such
    return new WalLog(dir, gen);
  }

  /** bytes of records in the current segment */
  get used(): number {
    return this.offset;
  }

  /** Appends one record holding `writes` and syncs it; throws when it is not durable. */
  append(writes: readonly WalWrite[]): void {
    if (this.broken) throw this.broken;
    const rec = encodeRecord(this.gen, writes);
    const i = this.gen % 2;
    const fd = this.segment();
    if (this.offset + rec.length + HEADER > this.sizes[i]!) this.grow(fd, i, this.offset + rec.length + HEADER);
    const start = flushChannel.hasSubscribers ? performance.now() : 0;
    try {
      writeSync(fd, rec, 0, rec.length, this.offset);
      fdatasyncSync(fd);
    } catch (e) {
      this.broken = e;
      throw e;
    }
    this.offset += rec.length;
    if (start > 0) flushChannel.publish({ start, ms: performance.now() - start, bytes: rec.length } satisfies StoreStallMessage);
  }

  /** Starts the next generation in the other segment (everything of the one before must be in LMDB). */
  rotate(): void {
    this.gen++;
    this.offset = 0;
  }

  /** Closes the segments; `remove`: everything is in LMDB, the files go. */
  close(remove: boolean): void {
    for (let i = 0; i < 2; i++) {
      const fd = this.fds[i];
      if (fd !== undefined) closeSync(fd);
      this.fds[i] = undefined;
    }
    if (!remove) return;
    for (const name of WAL_FILES) {
      const path = join(this.dir, name);
      if (existsSync(path)) unlinkSync(path);
    }
    syncDir(this.dir);
  }

  /** The current generation's file, made (and its name made durable) on first use. */
  private segment(): number {
    const i = this.gen % 2;
    let fd = this.fds[i];
    if (fd === undefined) {
      fd = openSync(join(this.dir, WAL_FILES[i]), constants.O_RDWR | constants.O_CREAT, 0o644);
      this.fds[i] = fd;
      this.sizes[i] = fstatSync(fd).size;
      if (this.sizes[i]! < GROW_BYTES) this.grow(fd, i, GROW_BYTES);
      syncDir(this.dir);
    }
    return fd;
  }

  /** Fills the file with zeros up to at least `need` bytes, durably (a new size is metadata). */
  private grow(fd: number, i: number, need: number): void {
    const to = Math.ceil(need / GROW_BYTES) * GROW_BYTES;
    const zeros = Buffer.alloc(Math.min(to - this.sizes[i]!, 1024 * 1024));
    for (let at = this.sizes[i]!; at < to; at += zeros.length) writeSync(fd, zeros, 0, Math.min(zeros.length, to - at), at);
    fdatasyncSync(fd);
    this.sizes[i] = to;
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
