// The store over LMDB (lmdb-js) in `<dir>/lmdb`: one environment, one named sub-database per record
// kind (src/store/lmdb-keys.ts). The web frontend shares the environment: it opens its own named
// sub-databases with `store.openSubDb(name)` (any name not starting with "store/"), or uses
// `store.root` directly. A second process (`builder inspect --state`) may open the same directory
// with `{ readOnly: true }` while the server writes.
import { mkdirSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type DatabaseOptions, type RootDatabase } from 'lmdb';
import { StoreError, storeErrors } from '../errors/store-error.ts';
import { STORE_DB_PREFIX, STORE_DBS, type RawDbs, type StoreDbName } from './lmdb-keys.ts';
import { LmdbOps, type StoreDbs } from './lmdb-ops.ts';
import { CommitBatcher } from './commit-batcher.ts';
import { applyWrites, WalCommitter } from './wal-committer.ts';
import { readWal, WAL_FILES, WalLog } from './wal-log.ts';
import { layeredDbs } from './layered-db.ts';
import { WriteLayer } from './write-layer.ts';
import { lockWriter, type WriterLock } from './writer-lock.ts';
import { entryEncoding, JobEncoding } from './record-codec.ts';
import { DEFAULT_HISTORY_LIMIT, META_SCHEMA_VERSION, type Store, type StoreTx, type TransactionOptions } from './store.ts';

/**
 * 1: every record a msgpack map. 2: schedule entries and queued jobs in the compact layout of
 * record-codec.ts (a version-1 store is rewritten so when opened for writing; read-only, it is read as it is).
 */
export const STORE_SCHEMA_VERSION = 2;
/** The environment's folder inside the server's --dir (shared with src/web/open-root.ts). */
export const LMDB_SUBDIR = 'lmdb';
/** Sub-databases an environment handle may open: ours (12) and the web frontend's. */
export const MAX_DBS = 64;
/** The map is sized up front (the file grows as written): growing the map mid-run remaps and stalls a commit for ~100 ms. */
export const MAP_SIZE = 64 * 1024 ** 3;

export interface LmdbStoreOptions {
  /** open without writing: for `builder inspect --state` beside a running server */
  readOnly?: boolean;
  /** runs kept per job name (default 50) */
  historyLimit?: number;
  /**
   * Commit through a write-ahead log (wal-log.ts), checkpointed into LMDB in batches: one flush per
   * commit instead of LMDB's two and its B-tree pages. For the one process that writes the store (the
   * server): it replays a log left by a crash when it opens, and removes the log when it closes.
   */
  wal?: boolean;
}

export interface LmdbStore extends Store {
  /** the LMDB environment, shared with the web frontend */
  readonly root: RootDatabase;
  /** a named sub-database of the same environment for another part (the web frontend); names starting with "store/" are refused */
  openSubDb<V = any>(name: string, options?: DatabaseOptions): Database<V, any>;
  /** read-only handles: see the writer's latest commits now rather than at the next event turn */
  refresh(): void;
}

export async function openLmdbStore(dir: string, opts: LmdbStoreOptions = {}): Promise<LmdbStore> {
  const readOnly = opts.readOnly ?? false;
  const historyLimit = opts.historyLimit ?? DEFAULT_HISTORY_LIMIT;
  if (!Number.isInteger(historyLimit) || historyLimit < 1)
    throw storeErrors.invalid(`historyLimit must be a positive integer, not ${historyLimit}`);
  const path = join(dir, LMDB_SUBDIR);
  let root: RootDatabase;
  try {
    if (readOnly) {
      if (!existsSync(path)) throw new Error(`${path} does not exist`);
    } else {
      mkdirSync(path, { recursive: true });
    }
    // never noSync, no overlappingSync: each commit is synced to disk in place before its promise
    // resolves (see commit-batcher.ts). With the log, no event-turn batching: a batch lmdb-js starts
    // for a checkpoint rejects a promise of its own, which nobody holds, when that commit fails (a full
    // disk), and the process would die of an unhandled rejection.
    root = open({ path, maxDbs: MAX_DBS, readOnly, mapSize: MAP_SIZE, overlappingSync: false, ...(opts.wal ? { eventTurnBatching: false } : {}) });
  } catch (e) {
    throw storeErrors.open(dir, e);
  }
  let dbs: RawDbs;
  const jobs = new JobEncoding();
  let mode: Mode;
  try {
    dbs = {} as RawDbs;
    for (const key of Object.keys(STORE_DBS) as StoreDbName[]) {
      // schedule entries and queued jobs: the compact layout (record-codec.ts); the rest plain msgpack
      // maps (no shared record structures): safe with aborted transactions and other processes
      const encoder = key === 'schedule' ? entryEncoding : key === 'queue' ? jobs : { useRecords: false };
      dbs[key] = root.openDB({ name: STORE_DBS[key], encoder } as DatabaseOptions & { name: string });
    }
    mode = readOnly ? readerMode(path, dbs) : opts.wal ? await walMode(path, root, dbs) : { kind: 'lmdb', batcher: new CommitBatcher(root) };
  } catch (e) {
    await root.close().catch(() => undefined);
    throw e instanceof StoreError ? e : storeErrors.open(dir, e);
  }
  const store = new LmdbStoreImpl(dir, root, dbs, mode, jobs, readOnly, historyLimit);
  try {
    await store.checkSchema();
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}

/**
 * How changes reach the disk: LMDB commits (commit-batcher.ts), or the write-ahead log; a read-only
 * store reads a log it finds (the server's changes not yet in LMDB) as a layer above LMDB.
 */
type Mode =
  | { kind: 'lmdb'; batcher: CommitBatcher }
  | { kind: 'wal'; committer: WalCommitter; lock: WriterLock }
  | { kind: 'reader'; readers: StoreDbs; reload(): void };

/** Takes the writer's lock, replays a log left by a crash into LMDB (one durable commit), then starts a new log. */
async function walMode(path: string, root: RootDatabase, dbs: RawDbs): Promise<Mode> {
  const lock = await lockWriter(path);
  try {
    const left = readWal(path);
    if (left.writes.length > 0) root.transactionSync(() => applyWrites(dbs, left.writes));
    for (const name of WAL_FILES) rmSync(join(path, name), { force: true });
    // later generations than any the removed files held, should their removal not have reached the disk
    return { kind: 'wal', committer: new WalCommitter(root, dbs, WalLog.create(path, left.lastGen + 1)), lock };
  } catch (e) {
    lock.release();
    throw e;
  }
}

function readerMode(path: string, dbs: RawDbs): Mode {
  let layer = new WriteLayer(false);
  const reload = (): void => {
    const next = new WriteLayer(false);
    for (const { db, write } of readWal(path).writes) next.set(db, write);
    layer = next;
  };
  reload();
  return { kind: 'reader', readers: layeredDbs(dbs, () => [layer]), reload };
}

class LmdbStoreImpl extends LmdbOps implements LmdbStore {
  private closed = false;

  constructor(
    readonly dir: string,
    readonly root: RootDatabase,
    private readonly stores: RawDbs,
    private readonly mode: Mode,
    jobs: JobEncoding,
    readonly readOnly: boolean,
    readonly historyLimit: number,
  ) {
    super(
      mode.kind === 'wal' ? mode.committer.readers : mode.kind === 'reader' ? mode.readers : stores,
      jobs,
      false,
      historyLimit,
      readOnly ? 'read-only' : 'outside',
    );
  }

  async checkSchema(): Promise<void> {
    const found = this.getMeta(META_SCHEMA_VERSION);
    if (found === undefined) {
      if (!this.readOnly) await this.transaction((tx) => tx.setMeta(META_SCHEMA_VERSION, STORE_SCHEMA_VERSION));
      return;
    }
    if (typeof found !== 'number' || found > STORE_SCHEMA_VERSION) throw storeErrors.schema(found, STORE_SCHEMA_VERSION);
    if (found < STORE_SCHEMA_VERSION && !this.readOnly) await this.migrate();
  }

  /** Version 1 to 2: every schedule entry and queued job rewritten in the compact layout, in one transaction. */
  private async migrate(): Promise<void> {
    this.root.transactionSync(() => {
      for (const db of [this.stores.schedule, this.stores.queue]) {
        const records = Array.from(db.getRange({}), ({ key, value }) => [key, value] as const);
        for (const [key, value] of records) db.putSync(key, value);
      }
      this.stores.meta.putSync(META_SCHEMA_VERSION, STORE_SCHEMA_VERSION);
    });
  }

  async transaction<T>(fn: (tx: StoreTx) => T, opts?: TransactionOptions): Promise<T> {
    if (this.closed) throw storeErrors.closed();
    if (this.readOnly || this.mode.kind === 'reader') throw storeErrors.readOnly('run a transaction');
    const work = (dbs: StoreDbs): T => {
      const tx = new LmdbOps(dbs, this.jobs, true, this.historyLimit);
      try {
        const r = fn(tx);
        if (isThenable(r)) {
          (r as PromiseLike<unknown>).then(undefined, () => undefined);
          throw storeErrors.asyncTransaction();
        }
        return r;
      } finally {
        tx.revoke('ended');
      }
    };
    const lazy = opts?.lazy === true;
    return this.mode.kind === 'wal' ? this.mode.committer.run(work, lazy) : this.mode.batcher.run(() => work(this.stores), lazy);
  }

  openSubDb<V = any>(name: string, options: DatabaseOptions = {}): Database<V, any> {
    if (this.closed) throw storeErrors.closed();
    if (typeof name !== 'string' || name.length === 0) throw storeErrors.invalid('a sub-database needs a name');
    if (name.startsWith(STORE_DB_PREFIX)) throw storeErrors.reservedName(name);
    return this.root.openDB<V, any>({ ...options, name } as DatabaseOptions & { name: string });
  }

  refresh(): void {
    if (this.closed) throw storeErrors.closed();
    this.root.resetReadTxn();
    if (this.mode.kind === 'reader') this.mode.reload();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.revoke('closed');
    if (this.mode.kind === 'wal') {
      await this.mode.committer.close();
      this.mode.lock.release();
    }
    if (this.mode.kind === 'lmdb') {
      await this.mode.batcher.drain();
      await this.root.flushed;
    }
    await this.root.close();
  }
}

function isThenable(v: unknown): boolean {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

export { StoreError };
