// One of the store's sub-databases as its readers and writers see it: LMDB below, and above it the
// write layers (write-layer.ts) not yet checkpointed into LMDB, newest first. Reads merge them in
// LMDB's key order; writes go to the top layer, which only a transaction has. It offers the part of
// lmdb-js's Database API that src/store/lmdb-ops.ts uses, with the same range rules: forward ranges
// hold start <= key < end, reverse ones end < key <= start, then `offset` and `limit` apply.
import type { Database, Key, RangeOptions } from 'lmdb';
import { encodeKey, type LayerWrite, type WriteLayer } from './write-layer.ts';
import { STORE_DBS, type RawDbs, type StoreDbName } from './lmdb-keys.ts';

/** What the store's operations (lmdb-ops.ts) use of a sub-database: an lmdb-js Database or a LayeredDb. */
export interface KvDb {
  get(key: Key): any;
  doesExist(key: Key): boolean;
  putSync(key: Key, value: unknown): unknown;
  removeSync(key: Key): boolean;
  getRange(range?: RangeOptions): Iterable<{ key: Key; value: any }>;
  getKeys(range?: RangeOptions): Iterable<Key>;
  getCount(range?: RangeOptions): number;
}

export type LayeredDbs = { [K in StoreDbName]: LayeredDb };

/** Every store sub-database seen through `layers` (newest first); `writable`: a transaction's, writing to the first. */
export function layeredDbs(raw: RawDbs, layers: () => readonly WriteLayer[], writable = false): LayeredDbs {
  const out = {} as LayeredDbs;
  for (const key of Object.keys(STORE_DBS) as StoreDbName[]) out[key] = new LayeredDb(STORE_DBS[key], raw[key], layers, writable);
  return out;
}

type Codec = { encode(v: unknown): Uint8Array; decode(b: Uint8Array): unknown };

export class LayeredDb implements KvDb {
  private readonly codec: Codec;

  constructor(
    /** the sub-database's name (lmdb-keys.ts): how layers and the log know it */
    readonly name: string,
    readonly base: Database<any, any>,
    /** the layers above LMDB, newest first; the first is written to when `writable` */
    private readonly layers: () => readonly WriteLayer[],
    private readonly writable = false,
  ) {
    const b = base as unknown as { encoder: Codec; decoder?: Codec };
    this.codec = { encode: (v) => b.encoder.encode(v), decode: (bytes) => (b.decoder ?? b.encoder).decode(bytes) };
  }

  /** The value bytes this sub-database's encoder makes, copied (msgpackr reuses its buffer). */
  encode(value: unknown): Buffer {
    return Buffer.from(this.codec.encode(value));
  }

  /** When no layer holds a write to this sub-database, reads go straight to LMDB. */
  get passthrough(): boolean {
    for (const l of this.layers()) if ((l.of(this.name)?.size ?? 0) > 0) return false;
    return true;
  }

  private find(keyBytes: Buffer): LayerWrite | undefined {
    for (const l of this.layers()) {
      const w = l.of(this.name)?.get(keyBytes);
      if (w) return w;
    }
    return undefined;
  }

  get(key: Key): any {
    if (this.passthrough) return this.base.get(key);
    const w = this.find(encodeKey(key));
    if (!w) return this.base.get(key);
    return w.bytes === null ? undefined : this.codec.decode(w.bytes);
  }

  doesExist(key: Key): boolean {
    if (this.passthrough) return this.base.doesExist(key);
    const w = this.find(encodeKey(key));
    return w ? w.bytes !== null : this.base.doesExist(key);
  }

  putSync(key: Key, value: unknown): void {
    this.top().set(this.name, { key, keyBytes: encodeKey(key), bytes: this.encode(value) });
  }

  removeSync(key: Key): boolean {
    if (!this.doesExist(key)) return false;
    this.top().set(this.name, { key, keyBytes: encodeKey(key), bytes: null });
    return true;
  }

  getRange(range: RangeOptions = {}): Iterable<{ key: Key; value: any }> {
    if (this.passthrough) return this.base.getRange(range);
    return this.merged(range, true) as Iterable<{ key: Key; value: any }>;
  }

  getKeys(range: RangeOptions = {}): Iterable<Key> {
    if (this.passthrough) return this.base.getKeys(range);
    const entries = this.merged(range, false);
    return (function* () {
      for (const e of entries) yield e.key;
    })();
  }

  getCount(range?: RangeOptions): number {
    if (this.passthrough) return this.base.getCount(range);
    let n = this.base.getCount(range);
    for (const w of this.writesIn(range ?? {})) {
      const inBase = this.base.doesExist(w.key);
      if (w.bytes !== null && !inBase) n++;
      else if (w.bytes === null && inBase) n--;
    }
    return n;
  }

  private top(): WriteLayer {
    const t = this.layers()[0];
    if (!this.writable || !t) throw new Error(`${this.name}: writes need a transaction's layer`);
    return t;
  }

  /** The newest write of each key any layer holds inside `range`, in the range's order. */
  private *writesIn(range: RangeOptions): Generator<LayerWrite> {
    const reverse = range.reverse === true;
    const sign = reverse ? -1 : 1;
    const start = range.start === undefined ? undefined : encodeKey(range.start);
    const end = range.end === undefined ? undefined : encodeKey(range.end);
    // one cursor per layer that holds writes here, newest layer first
    const cursors: { sorted: readonly { write: LayerWrite }[]; at: number }[] = [];
    for (const l of this.layers()) {
      const w = l.of(this.name);
      if (!w || w.size === 0) continue;
      let at: number;
      if (!reverse) at = start === undefined ? 0 : w.lowerBound(start);
      else if (start === undefined) at = w.sorted.length - 1;
      else {
        at = w.lowerBound(start);
        if (at === w.sorted.length || Buffer.compare(w.sorted[at]!.write.keyBytes, start) > 0) at--;
      }
      cursors.push({ sorted: w.sorted, at });
    }
    const past = (k: Buffer): boolean =>
      end !== undefined && (reverse ? Buffer.compare(k, end) <= 0 : Buffer.compare(k, end) >= 0);
    for (;;) {
      let best: LayerWrite | undefined;
      for (const c of cursors) {
        const w = c.sorted[c.at]?.write;
        if (w && (best === undefined || sign * Buffer.compare(w.keyBytes, best.keyBytes) < 0)) best = w;
      }
      if (best === undefined || past(best.keyBytes)) return;
      // the newest layer's write of this key wins; every cursor on it moves on
      let won: LayerWrite | undefined;
      for (const c of cursors) {
        const w = c.sorted[c.at]?.write;
        if (w && Buffer.compare(w.keyBytes, best.keyBytes) === 0) {
          won ??= w;
          c.at += sign;
        }
      }
      yield won!;
    }
  }

  private *merged(range: RangeOptions, values: boolean): Generator<{ key: Key; value?: any }> {
    const writes = this.writesIn(range);
    let next = writes.next();
    const sign = range.reverse === true ? -1 : 1;
    const { offset, limit, ...unbounded } = range;
    let skip = offset ?? 0;
    let left = limit ?? Infinity;
    if (left <= 0) return;
    const emit = (key: Key, value: () => any): { key: Key; value?: any } | undefined => {
      if (skip > 0) {
        skip--;
        return undefined;
      }
      left--;
      return values ? { key, value: value() } : { key };
    };
    const fromLayer = (w: LayerWrite) => (w.bytes === null ? undefined : emit(w.key, () => this.codec.decode(w.bytes!)));
    const base = values ? this.base.getRange(unbounded) : (this.base.getKeys(unbounded) as Iterable<Key>);
    for (const item of base as Iterable<{ key: Key; value: any } | Key>) {
      const key = values ? (item as { key: Key }).key : (item as Key);
      const kb = encodeKey(key);
      // the layers' writes that sort before this LMDB key
      while (!next.done && sign * Buffer.compare(next.value.keyBytes, kb) < 0) {
        const e = fromLayer(next.value);
        next = writes.next();
        if (e) yield e;
        if (left <= 0) return;
      }
      let e: { key: Key; value?: any } | undefined;
      if (!next.done && Buffer.compare(next.value.keyBytes, kb) === 0) {
        // the layers hold a newer write of this key
        e = fromLayer(next.value);
        next = writes.next();
      } else {
        e = emit(key, () => (item as { value: any }).value);
      }
      if (e) yield e;
      if (left <= 0) return;
    }
    for (; !next.done; next = writes.next()) {
      const e = fromLayer(next.value);
      if (e) yield e;
      if (left <= 0) return;
    }
  }
}
