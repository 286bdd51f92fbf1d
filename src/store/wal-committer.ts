// Group commit through the write-ahead log (wal-log.ts), the server's store mode. Every change asked
// for during one turn of the event loop runs in a layer of its own (a change that throws is dropped
// alone); their writes go to the log as one record, synced once, and then into the `pending` layer,
// which every reader sees above LMDB. A checkpoint hands the pending layer to LMDB as one durable
// transaction on lmdb-js's writer thread, about every CHECKPOINT_MS, while the log goes on in its
// other segment; once LMDB has it durably, the layer goes and reads find it in LMDB.
//
// A checkpoint that fails (the disk is full) keeps its layer and is tried again every RETRY_MS; the
// log keeps growing meanwhile, and once it cannot grow either, commits fail as the disk being full.
// Lazy changes: see turn-batches.ts.
import diagnostics from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import { asBinary, type Database, type RootDatabase } from 'lmdb';
import { STORE_CHECKPOINT_CHANNEL, type StoreStallMessage } from '../observability/process-stats.ts';
import { layeredDbs, type LayeredDbs } from './layered-db.ts';
import { WalLog, type WalWrite } from './wal-log.ts';
import { WriteLayer } from './write-layer.ts';
import { STORE_DBS, type RawDbs, type StoreDbName } from './lmdb-keys.ts';
import { runEach, settle, TurnBatches, type Change } from './turn-batches.ts';

export const CHECKPOINT_MS = 100;
export const RETRY_MS = 1000;
/** a segment holding this much starts a checkpoint at once */
export const CHECKPOINT_BYTES = 1024 * 1024;

type Work = (dbs: LayeredDbs) => unknown;
const checkpointChannel = diagnostics.channel(STORE_CHECKPOINT_CHANNEL);

/** Writes a layer's (or the log's) changes into LMDB; call inside a write transaction. */
export function applyWrites(dbs: RawDbs, writes: Iterable<WalWrite>): void {
  const byName = new Map<string, Database<any, any>>(Object.entries(STORE_DBS).map(([k, name]) => [name, dbs[k as StoreDbName]]));
  for (const { db, write } of writes) {
    const target = byName.get(db);
    if (!target) throw new Error(`write-ahead log: unknown sub-database ${db}`);
    if (write.bytes) target.putSync(write.key, asBinary(write.bytes));
    else target.removeSync(write.key);
  }
}

function* layerWrites(layer: WriteLayer): Generator<WalWrite> {
  for (const [db, writes] of layer.dbs) for (const write of writes.values()) yield { db, write };
}

export class WalCommitter {
  private pending = new WriteLayer(false);
  /** the layer a checkpoint is writing into LMDB (or failed to, and will again) */
  private frozen: WriteLayer | undefined;
  private readonly batches = new TurnBatches<Work>((batch) => this.write(batch));
  private timer: NodeJS.Timeout | undefined;
  private checkpointing: Promise<void> | undefined;
  /** the layers of the transaction being run: its own, its batch's, then the store's */
  private txStack: WriteLayer[] = [];
  private closed = false;
  /** the sub-databases as readers outside a transaction see them */
  readonly readers: LayeredDbs;
  private readonly writers: LayeredDbs;

  constructor(
    private readonly root: RootDatabase,
    private readonly raw: RawDbs,
    private readonly log: WalLog,
  ) {
    const layers = (): WriteLayer[] => (this.frozen ? [this.pending, this.frozen] : [this.pending]);
    this.readers = layeredDbs(raw, layers);
    this.writers = layeredDbs(raw, () => this.txStack, true);
  }

  run<T>(work: (dbs: LayeredDbs) => T, lazy = false): Promise<T> {
    return this.batches.add<T>(work, lazy);
  }

  drain(): Promise<void> {
    return this.batches.drain();
  }

  /** Writes everything into LMDB and removes the log; a log LMDB could not take stays, for the next open. */
  async close(): Promise<void> {
    await this.drain();
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (;;) {
      if (this.checkpointing) await this.checkpointing;
      if (!this.frozen && this.pending.empty) break;
      if (!(await this.checkpoint())) break;
    }
    this.log.close(!this.frozen && this.pending.empty);
  }

  private write(batch: Change<Work>[]): void {
    const batchLayer = new WriteLayer();
    const below = this.frozen ? [batchLayer, this.pending, this.frozen] : [batchLayer, this.pending];
    const outcomes = runEach(batch, (work) => {
      const tx = new WriteLayer();
      this.txStack = [tx, ...below];
      const value = work(this.writers);
      batchLayer.absorb(tx);
      return value;
    });
    this.txStack = [];
    if (!batchLayer.empty) {
      try {
        this.log.append(batchLayer.log);
      } catch (error) {
        for (const p of batch) p.reject(error);
        return;
      }
      this.pending.absorb(batchLayer);
      if (this.log.used >= CHECKPOINT_BYTES) this.arm(0);
      else this.arm(CHECKPOINT_MS);
    }
    settle(batch, outcomes);
  }

  private arm(ms: number): void {
    if (this.checkpointing || this.closed) return;
    if (this.timer && ms > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.checkpoint();
    }, ms);
    this.timer.unref();
  }

  /** One checkpoint: the failed layer again, or the pending one (the log then goes on in its other segment). */
  private checkpoint(): Promise<boolean> {
    if (this.checkpointing) return this.checkpointing.then(() => this.frozen === undefined);
    if (!this.frozen) {
      if (this.pending.empty) return Promise.resolve(true);
      this.frozen = this.pending;
      this.pending = new WriteLayer(false);
      this.log.rotate();
    }
    const frozen = this.frozen;
    const done = (async (): Promise<boolean> => {
      try {
        await this.root.transaction(() => {
          const start = checkpointChannel.hasSubscribers ? performance.now() : 0;
          applyWrites(this.raw, layerWrites(frozen));
          if (start > 0) checkpointChannel.publish({ start, ms: performance.now() - start } satisfies StoreStallMessage);
        });
        await this.root.flushed;
        this.root.resetReadTxn();
        this.frozen = undefined;
        return true;
      } catch (e) {
        // lmdb-js rejects a failed commit with a generic error whose `commitError` promise rejects later with the cause
        (e as { commitError?: Promise<unknown> } | undefined)?.commitError?.then(undefined, () => undefined);
        return false;
      }
    })();
    this.checkpointing = done.then(
      (ok) => {
        this.checkpointing = undefined;
        if (!ok) this.arm(RETRY_MS);
        else if (!this.pending.empty) this.arm(this.log.used >= CHECKPOINT_BYTES ? 0 : CHECKPOINT_MS);
      },
    );
    return done;
  }
}
