// The store over LMDB (lmdb-js) in `<dir>/lmdb`: one environment, one named sub-database per record
// kind (src/store/lmdb-keys.ts). The web frontend shares the environment: it opens its own named
// sub-databases with `store.openSubDb(name)` (any name not starting with "store/"), or uses
// `store.root` directly. A second process (`builder inspect --state`) may open the same directory
// with `{ readOnly: true }` while the server writes.
import { mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type DatabaseOptions, type RootDatabase } from 'lmdb';
import { StoreError, storeErrors } from '../errors/store-error.ts';
import { STORE_DB_PREFIX, STORE_DBS, type StoreDbName } from './lmdb-keys.ts';
import { LmdbOps, type StoreDbs } from './lmdb-ops.ts';
import { CommitBatcher } from './commit-batcher.ts';
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
    // resolves (see commit-batcher.ts)
    root = open({ path, maxDbs: MAX_DBS, readOnly, mapSize: MAP_SIZE, overlappingSync: false });
  } catch (e) {
    throw storeErrors.open(dir, e);
  }
  let dbs: StoreDbs;
  const jobs = new JobEncoding();
  try {
    dbs = {} as StoreDbs;
    for (const key of Object.keys(STORE_DBS) as StoreDbName[]) {
      // schedule entries and queued jobs: the compact layout (record-codec.ts); the rest plain msgpack
      // maps (no shared record structures): safe with aborted transactions and other processes
      const encoder = key === 'schedule' ? entryEncoding : key === 'queue' ? jobs : { useRecords: false };
      dbs[key] = root.openDB({ name: STORE_DBS[key], encoder } as DatabaseOptions & { name: string });
    }
  } catch (e) {
    await root.close().catch(() => undefined);
    throw storeErrors.open(dir, e);
  }
  const store = new LmdbStoreImpl(dir, root, dbs, jobs, readOnly, historyLimit);
  try {
    await store.checkSchema();
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}

class LmdbStoreImpl extends LmdbOps implements LmdbStore {
  private closed = false;
  private readonly batcher: CommitBatcher;

  constructor(
    readonly dir: string,
    readonly root: RootDatabase,
    private readonly stores: StoreDbs,
    jobs: JobEncoding,
    readonly readOnly: boolean,
    readonly historyLimit: number,
  ) {
    super(stores, jobs, false, historyLimit, readOnly ? 'read-only' : 'outside');
    this.batcher = new CommitBatcher(root);
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
    await this.transaction(() => {
      for (const db of [this.stores.schedule, this.stores.queue]) {
        const records = Array.from(db.getRange({}), ({ key, value }) => [key, value] as const);
        for (const [key, value] of records) db.putSync(key, value);
      }
      this.stores.meta.putSync(META_SCHEMA_VERSION, STORE_SCHEMA_VERSION);
    });
  }

  async transaction<T>(fn: (tx: StoreTx) => T, opts?: TransactionOptions): Promise<T> {
    if (this.closed) throw storeErrors.closed();
    if (this.readOnly) throw storeErrors.readOnly('run a transaction');
    return this.batcher.run(() => {
      const tx = new LmdbOps(this.stores, this.jobs, true, this.historyLimit);
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
    }, opts?.lazy === true);
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
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.revoke('closed');
    if (!this.readOnly) {
      await this.batcher.drain();
      await this.root.flushed;
    }
    await this.root.close();
  }
}

function isThenable(v: unknown): boolean {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

export { StoreError };
