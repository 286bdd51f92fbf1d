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

/** One sub-database's writes in a layer, by key and in key order. */
export class DbWrites {
  private readonly byKey = new Map<string, LayerWrite>();
  /** every write, in key order */
  readonly sorted: LayerWrite[] = [];

  get size(): number {
    return this.byKey.size;
  }

  set(w: LayerWrite): void {
    const id = w.keyBytes.toString('latin1');
    const had = this.byKey.has(id);
    this.byKey.set(id, w);
    const i = this.lowerBound(w.keyBytes);
    if (had) this.sorted[i] = w;
    else if (i === this.sorted.length) this.sorted.push(w);
    else this.sorted.splice(i, 0, w);
  }

  get(keyBytes: Buffer): LayerWrite | undefined {
    return this.byKey.get(keyBytes.toString('latin1'));
  }

  /** the index of the first write whose key is >= `keyBytes` */
  lowerBound(keyBytes: Buffer): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (Buffer.compare(this.sorted[mid]!.keyBytes, keyBytes) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  values(): IterableIterator<LayerWrite> {
    return this.byKey.values();
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

  /** Adds every write of `upper` on top of this layer's (upper's win), in upper's order. */
  absorb(upper: WriteLayer): void {
    for (const { db, write } of upper.log) this.set(db, write);
  }
}
