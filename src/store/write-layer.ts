// Writes to the store's sub-databases held in memory, above LMDB: a transaction's own writes, and the
// changes that are durable in the write-ahead log (wal-log.ts) but not yet checkpointed into LMDB.
// Each write keeps the key in LMDB's key encoding (ordered-binary: byte order is key order) and the
// value as the bytes the sub-database's own encoder makes, so that the log, the checkpoint and LMDB
// hold the very same bytes; `null` bytes mark a deletion.
import * as lmdb from 'lmdb';
import type { Key } from 'lmdb';

// lmdb-js exports ordered-binary's key codec, which its type declarations leave out
const keyCodec = lmdb as unknown as { keyValueToBuffer(key: Key): Uint8Array; bufferToKeyValue(bytes: Uint8Array): Key };

export interface LayerWrite {
  /** the key as given (decoded form) */
  key: Key;
  /** LMDB's encoding of the key: compared bytewise, as LMDB compares keys */
  keyBytes: Buffer;
  /** the encoded value, or null: deleted */
  bytes: Buffer | null;
}

export function encodeKey(key: Key): Buffer {
  // ordered-binary hands out views of a shared buffer: the next key would overwrite it
  return Buffer.from(keyCodec.keyValueToBuffer(key));
}

export function decodeKey(bytes: Uint8Array): Key {
  return keyCodec.bufferToKeyValue(bytes);
}

/** One key's place in a layer: its newest write. */
interface Slot {
  write: LayerWrite;
}

/**
 * One sub-database's writes in a layer, by key and in key order. A key that sorts after every other
 * (a queue's back) is placed at once; other new keys wait, unsorted, for the next read in key order,
 * which sorts and merges them in one pass: a transaction that writes 100k keys in any order does not
 * pay for keeping them sorted key by key.
 */
export class DbWrites {
  private readonly byKey = new Map<string, Slot>();
  private inOrder: Slot[] = [];
  private unplaced: Slot[] = [];

  get size(): number {
    return this.byKey.size;
  }

  set(w: LayerWrite): void {
    const id = w.keyBytes.toString('latin1');
    const slot = this.byKey.get(id);
    if (slot) {
      slot.write = w;
      return;
    }
    const fresh = { write: w };
    this.byKey.set(id, fresh);
    const last = this.inOrder.at(-1);
    if (this.unplaced.length === 0 && (!last || Buffer.compare(last.write.keyBytes, w.keyBytes) < 0)) this.inOrder.push(fresh);
    else this.unplaced.push(fresh);
  }

  get(keyBytes: Buffer): LayerWrite | undefined {
    return this.byKey.get(keyBytes.toString('latin1'))?.write;
  }

  /** the newest write of every key, in key order */
  get sorted(): readonly Slot[] {
    if (this.unplaced.length > 0) this.place();
    return this.inOrder;
  }

  /** the index in `sorted` of the first key >= `keyBytes` */
  lowerBound(keyBytes: Buffer): number {
    const order = this.sorted;
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (Buffer.compare(order[mid]!.write.keyBytes, keyBytes) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  *values(): Generator<LayerWrite> {
    for (const slot of this.byKey.values()) yield slot.write;
  }

  /** Takes every write of `upper`, which are newer than this layer's. */
  merge(upper: DbWrites): void {
    for (const slot of upper.byKey.values()) this.set(slot.write);
  }

  private place(): void {
    const added = this.unplaced.sort((x, y) => Buffer.compare(x.write.keyBytes, y.write.keyBytes));
    this.unplaced = [];
    const a = this.inOrder;
    const out: Slot[] = new Array(a.length + added.length);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < a.length && j < added.length) out[k++] = Buffer.compare(a[i]!.write.keyBytes, added[j]!.write.keyBytes) < 0 ? a[i++]! : added[j++]!;
    while (i < a.length) out[k++] = a[i++]!;
    while (j < added.length) out[k++] = added[j++]!;
    this.inOrder = out;
  }
}

/** Writes to any of the store's sub-databases, by sub-database name (src/store/lmdb-keys.ts). */
export class WriteLayer {
  readonly dbs = new Map<string, DbWrites>();
  /** the writes in the order they were made (the log replays them in this order), when kept */
  readonly log: { db: string; write: LayerWrite }[] = [];
  private count = 0;

  /** `keepLog`: keep every write in order (a transaction's, a batch's), not only the last per key */
  constructor(private readonly keepLog = true) {}

  get empty(): boolean {
    return this.count === 0;
  }

  of(db: string): DbWrites | undefined {
    return this.dbs.get(db);
  }

  set(db: string, write: LayerWrite): void {
    let w = this.dbs.get(db);
    if (!w) this.dbs.set(db, (w = new DbWrites()));
    w.set(write);
    this.count++;
    if (this.keepLog) this.log.push({ db, write });
  }

  /** Adds every write of `upper` on top of this layer's (upper's win); a kept log goes on with upper's. */
  absorb(upper: WriteLayer): void {
    for (const [db, writes] of upper.dbs) {
      let mine = this.dbs.get(db);
      if (!mine) this.dbs.set(db, (mine = new DbWrites()));
      mine.merge(writes);
    }
    this.count += upper.count;
    if (this.keepLog) for (const entry of upper.log) this.log.push(entry);
  }
}
