// The supervisor's persistence port over the store: one Change is one store transaction, durable
// on disk before the promise resolves.
import type { RootDatabase } from 'lmdb';
import type { Job } from '../protocol/types.ts';
import { openLmdbStore, type LmdbStore } from '../store/lmdb-store.ts';
import { EntryCompactor } from './compact-entry.ts';
import type { StoreTx } from '../store/store.ts';
import type { Change, HistoryEntry, Loaded, OutboxEntry, Persistence, RunningRecord, ScheduleEntry } from './persistence.ts';

export interface StorePersistence extends Persistence {
  /** load() without unmapping the store afterwards */
  loadRecords(schedule?: Map<string, ScheduleEntry>): Loaded;
  readonly store: LmdbStore;
  /** the LMDB environment, shared with the web frontend's own databases */
  readonly root: RootDatabase;
}

export async function openStorePersistence(dir: string): Promise<StorePersistence> {
  let store = await openLmdbStore(dir, WAL);
  const persistence: StorePersistence = {
    get store() {
      return store;
    },
    get root() {
      return store.root;
    },
    async load(schedule?: Map<string, ScheduleEntry>): Promise<Loaded> {
      const loaded = persistence.loadRecords(schedule);
      // Reading every record mapped the whole store into this process (60 MiB of RSS at 100k jobs) for
      // good: closing the environment unmaps it; the server then touches only the pages it uses. A small
      // store (a few MiB at most) is kept open: reopening would cost more than its pages.
      if (loaded.schedule.length + countQueued(loaded) >= REOPEN_AFTER_RECORDS) {
        await store.close();
        store = await openLmdbStore(dir, WAL);
      }
      return loaded;
    },
    loadRecords(schedule?: Map<string, ScheduleEntry>): Loaded {
      const compact = new EntryCompactor();
      const all = store.loadAll({
        ...(schedule ? { index: schedule as Map<string, import('../store/store.ts').ScheduleEntry> } : {}),
        scheduleEntry: (raw, flat) => (flat ? compact.shareInPlace(raw as ScheduleEntry) : compact.entry(raw as ScheduleEntry)),
        // a queued job is its schedule entry's job: one object (half the objects at 100k queued jobs); the
        // store gives that very object for a record stored byte-for-byte as the entry's job
        queuedJob: (j, _platform, e) => {
          if (e && e.job === j) return j;
          return e && e.job.type === j.type && (j.type === 'orb-build' || e.job.type === 'orb-build' || e.job.script === j.script) ? e.job : compact.job(j);
        },
      });
      return {
        schedule: all.schedule as ScheduleEntry[],
        queues: all.queues,
        dropped: all.dropped,
        running: all.running.map((r) => ({ ...r, queued: r.queued ?? r.job, workerId: r.workerId ?? '' }) as RunningRecord),
        actors: all.actors,
        outbox: all.outbox.filter(isOurs),
        meta: all.meta,
      };
    },
    commit(change: Change): Promise<void> {
      return store.transaction((tx) => apply(tx, change), change.lazy ? LAZY : undefined);
    },
    history(jobName, limit) {
      return store.listHistory(jobName, limit).map(asHistory);
    },
    historyByUuid(uuid) {
      const h = store.getHistoryByUuid(uuid);
      return h ? asHistory(h) : undefined;
    },
    outbox: () => store.listOutbox().filter(isOurs),
    close: () => store.close(),
  };
  return persistence;
}

const LAZY = { lazy: true } as const;
/** the server is the store's one writer: its commits go through the write-ahead log (src/store/wal-log.ts) */
const WAL = { wal: true } as const;

/** From this many schedule entries and queued jobs read, the store is reopened after the load (see load). */
const REOPEN_AFTER_RECORDS = 20_000;

function countQueued(l: Loaded): number {
  let n = 0;
  for (const q of l.queues.values()) n += q.length;
  return n;
}

/** Outbox entries the server wrote: uploaded from their result file to their URL. */
function isOurs(o: import('../store/store.ts').OutboxEntry): o is OutboxEntry {
  return typeof o.path === 'string' && typeof o.url === 'string';
}

function asHistory(h: import('../store/store.ts').HistoryRun): HistoryEntry {
  return { ...h, resultText: h.resultText ?? '', transitions: h.transitions ?? [] };
}

function apply(tx: StoreTx, c: Change): void {
  for (const p of c.createQueue ?? []) tx.ensureQueue(p);
  for (const e of c.putSchedule ?? []) tx.putSchedule(e);
  for (const n of c.deleteSchedule ?? []) tx.deleteSchedule(n);
  for (const op of c.queue ?? []) {
    switch (op.op) {
      case 'push-back':
        tx.pushBack(op.platform, op.job as Job);
        break;
      case 'push-front':
        tx.pushFront(op.platform, op.job as Job);
        break;
      case 'remove':
        tx.removeFromQueue(op.platform, op.name);
        break;
      case 'clear':
        tx.clearQueue(op.platform);
        break;
    }
  }
  for (const p of c.deleteQueue ?? []) tx.deleteQueue(p);
  for (const p of c.putDropped ?? []) tx.addDropped(p);
  for (const p of c.deleteDropped ?? []) tx.removeDropped(p);
  for (const r of c.putRunning ?? []) tx.putRunning(r);
  for (const u of c.deleteRunning ?? []) tx.deleteRunning(u);
  for (const a of c.putActor ?? []) tx.putActorSnapshot(a.kind, a.id, a.snapshot);
  for (const a of c.deleteActor ?? []) tx.deleteActorSnapshot(a.kind, a.id);
  for (const h of c.addHistory ?? []) tx.addHistory(h);
  for (const o of c.putOutbox ?? []) tx.putOutbox(o);
  for (const id of c.deleteOutbox ?? []) tx.deleteOutbox(id);
  for (const [k, v] of Object.entries(c.meta ?? {})) tx.setMeta(k, v);
}
