// The store's reads and writes over the LMDB sub-databases. One instance reads for the store
// (writes refused); a fresh one per transaction reads and writes inside that transaction.
import type { Key, RangeOptions } from 'lmdb';
import { LayeredDb, type KvDb } from './layered-db.ts';
import type { Job } from '../protocol/types.ts';
import { storeErrors } from '../errors/store-error.ts';
import { checkKeyPart, checkTime, STORE_DBS, type StoreDbName } from './lmdb-keys.ts';
import { entryEncoding, lastEntryCompact, type JobEncoding } from './record-codec.ts';
import type {
  ActorKind,
  ActorSnapshotRecord,
  HistoryRun,
  LoadMappers,
  OutboxEntry,
  RunningJob,
  ScheduleEntry,
  StoreContents,
  StoreTx,
} from './store.ts';

export type StoreDbs = { [K in StoreDbName]: KvDb };

const ACTOR_KINDS: readonly ActorKind[] = ['job', 'worker'];

export class LmdbOps implements StoreTx {
  private dead: null | 'ended' | 'closed' = null;

  constructor(
    private readonly dbs: StoreDbs,
    /** the queue's value encoding (record-codec.ts), told during loadAll which jobs are in memory already */
    protected readonly jobs: JobEncoding,
    private readonly writable: boolean,
    private readonly keepRuns: number,
    /** why writes are refused when not writable: 'read-only' store, or the store's own reader 'outside' a transaction */
    private readonly refusal: 'read-only' | 'outside' = 'outside',
  ) {}

  /** A transaction's ops die when it ends (a captured `tx` cannot write later), the store's on close. */
  revoke(why: 'ended' | 'closed'): void {
    this.dead = why;
  }

  private r(): void {
    if (this.dead === 'closed') throw storeErrors.closed();
    if (this.dead === 'ended') throw storeErrors.invalid('this tx belongs to a transaction that has ended');
  }

  private w(what: string): void {
    this.r();
    if (!this.writable)
      throw this.refusal === 'read-only' ? storeErrors.readOnly(what) : storeErrors.outsideTransaction(what);
  }

  // ---- schedule

  getSchedule(name: string): ScheduleEntry | undefined {
    this.r();
    return this.dbs.schedule.get(name) ?? undefined;
  }

  listSchedule(): ScheduleEntry[] {
    this.r();
    return Array.from(this.dbs.schedule.getRange({}), (e) => e.value as ScheduleEntry);
  }

  countSchedule(): number {
    this.r();
    return this.dbs.schedule.getCount();
  }

  listDueSchedule(now: number, limit = Infinity): ScheduleEntry[] {
    this.r();
    const out: ScheduleEntry[] = [];
    if (limit <= 0) return out;
    for (const key of this.dbs.scheduleDue.getKeys({})) {
      const [next, name] = key as [number, string];
      if (next > now) break;
      const entry = this.getSchedule(name);
      if (entry) out.push(entry);
      if (out.length >= limit) break;
    }
    return out;
  }

  earliestNext(): number | null {
    this.r();
    for (const key of this.dbs.scheduleDue.getKeys({ limit: 1 })) return (key as [number, string])[0];
    return null;
  }

  putSchedule(entry: ScheduleEntry): void {
    this.w('putSchedule');
    const name = checkKeyPart('schedule name', entry?.name);
    if (entry.job?.name !== name) throw storeErrors.invalid(`schedule entry name ${name} differs from its job's name`);
    if (entry.next !== null) checkTime('next', entry.next);
    const old = this.getSchedule(name);
    if (old) this.unindexDue(old);
    this.dbs.schedule.putSync(name, entry);
    this.indexDue(entry);
  }

  deleteSchedule(name: string): boolean {
    this.w('deleteSchedule');
    const old = this.getSchedule(name);
    if (!old) return false;
    this.unindexDue(old);
    return this.dbs.schedule.removeSync(name);
  }

  private indexDue(e: ScheduleEntry): void {
    if (!e.paused && e.next !== null) this.dbs.scheduleDue.putSync([e.next, e.name], true);
  }

  private unindexDue(e: ScheduleEntry): void {
    if (e.next !== null) this.dbs.scheduleDue.removeSync([e.next, e.name]);
  }

  // ---- queues

  hasQueue(platform: string): boolean {
    this.r();
    return this.dbs.queuePlatforms.doesExist(platform);
  }

  listQueuePlatforms(): string[] {
    this.r();
    return Array.from(this.dbs.queuePlatforms.getKeys({}), (k) => k as string);
  }

  listQueue(platform: string): Job[] {
    this.r();
    return Array.from(this.dbs.queue.getRange(queueRange(platform)), (e) => e.value as Job);
  }

  queueLength(platform: string): number {
    this.r();
    return this.dbs.queue.getCount(queueRange(platform));
  }

  isQueued(platform: string, name: string): boolean {
    this.r();
    return this.dbs.queueNames.doesExist([platform, name]);
  }

  peekQueue(platform: string): Job | undefined {
    this.r();
    for (const e of this.dbs.queue.getRange({ ...queueRange(platform), limit: 1 })) return e.value as Job;
    return undefined;
  }

  ensureQueue(platform: string): void {
    this.w('ensureQueue');
    checkKeyPart('platform', platform);
    if (!this.hasQueue(platform)) this.dbs.queuePlatforms.putSync(platform, true);
  }

  pushBack(platform: string, job: Job): boolean {
    this.w('pushBack');
    const name = checkKeyPart('job name', job?.name);
    this.ensureQueue(platform);
    if (this.isQueued(platform, name)) return false;
    const seq = this.edgeSeq(platform, true);
    this.place(platform, seq === undefined ? 0 : seq + 1, job);
    return true;
  }

  pushFront(platform: string, job: Job): 'added' | 'moved' {
    this.w('pushFront');
    const name = checkKeyPart('job name', job?.name);
    this.ensureQueue(platform);
    const had = this.removeFromQueue(platform, name);
    const seq = this.edgeSeq(platform, false);
    this.place(platform, seq === undefined ? 0 : seq - 1, job);
    return had ? 'moved' : 'added';
  }

  popFront(platform: string): Job | undefined {
    this.w('popFront');
    for (const e of this.dbs.queue.getRange({ ...queueRange(platform), limit: 1 })) {
      const job = e.value as Job;
      this.dbs.queue.removeSync(e.key);
      this.dbs.queueNames.removeSync([platform, job.name]);
      return job;
    }
    return undefined;
  }

  removeFromQueue(platform: string, name: string): boolean {
    this.w('removeFromQueue');
    const seq = this.dbs.queueNames.get([platform, name]) as number | undefined;
    if (seq === undefined) return false;
    this.dbs.queue.removeSync([platform, seq]);
    this.dbs.queueNames.removeSync([platform, name]);
    return true;
  }

  removeFromAllQueues(name: string): string[] {
    this.w('removeFromAllQueues');
    return this.listQueuePlatforms().filter((p) => this.removeFromQueue(p, name));
  }

  clearQueue(platform: string): number {
    this.w('clearQueue');
    const keys = Array.from(this.dbs.queue.getKeys(queueRange(platform)));
    for (const k of keys) this.dbs.queue.removeSync(k);
    for (const k of Array.from(this.dbs.queueNames.getKeys({ start: [platform], end: [platform, MAX_STRING] })))
      this.dbs.queueNames.removeSync(k);
    return keys.length;
  }

  deleteQueue(platform: string): boolean {
    this.w('deleteQueue');
    if (!this.hasQueue(platform)) return false;
    this.clearQueue(platform);
    return this.dbs.queuePlatforms.removeSync(platform);
  }

  /** The smallest (front) or largest (back) seq in the platform's queue. */
  private edgeSeq(platform: string, back: boolean): number | undefined {
    const range: RangeOptions = back
      ? { start: [platform, Infinity], end: [platform], reverse: true, limit: 1 }
      : { ...queueRange(platform), limit: 1 };
    for (const k of this.dbs.queue.getKeys(range)) return (k as [string, number])[1];
    return undefined;
  }

  private place(platform: string, seq: number, job: Job): void {
    this.dbs.queue.putSync([platform, seq], job);
    this.dbs.queueNames.putSync([platform, job.name], seq);
  }

  // ---- dropped platforms

  isDropped(platform: string): boolean {
    this.r();
    return this.dbs.dropped.doesExist(platform);
  }

  listDropped(): string[] {
    this.r();
    return Array.from(this.dbs.dropped.getKeys({}), (k) => k as string);
  }

  addDropped(platform: string): boolean {
    this.w('addDropped');
    checkKeyPart('platform', platform);
    if (this.isDropped(platform)) return false;
    this.dbs.dropped.putSync(platform, true);
    return true;
  }

  removeDropped(platform: string): boolean {
    this.w('removeDropped');
    if (!this.isDropped(platform)) return false;
    return this.dbs.dropped.removeSync(platform);
  }

  // ---- running jobs

  getRunning(uuid: string): RunningJob | undefined {
    this.r();
    return this.dbs.running.get(uuid) ?? undefined;
  }

  listRunning(): RunningJob[] {
    this.r();
    return Array.from(this.dbs.running.getRange({}), (e) => e.value as RunningJob);
  }

  putRunning(run: RunningJob): void {
    this.w('putRunning');
    checkKeyPart('uuid', run?.uuid);
    checkTime('startedAt', run.startedAt);
    checkTime('deadline', run.deadline);
    this.dbs.running.putSync(run.uuid, run);
  }

  deleteRunning(uuid: string): boolean {
    this.w('deleteRunning');
    return this.dbs.running.removeSync(uuid);
  }

  // ---- actor snapshots

  getActorSnapshot(kind: ActorKind, id: string): unknown | undefined {
    this.r();
    return this.dbs.actors.get([kind, id]) ?? undefined;
  }

  listActorSnapshots(kind: ActorKind): ActorSnapshotRecord[] {
    this.r();
    return Array.from(this.dbs.actors.getRange({ start: [kind], end: [kind, MAX_STRING] }), (e) => ({
      kind,
      id: (e.key as [ActorKind, string])[1],
      snapshot: e.value,
    }));
  }

  putActorSnapshot(kind: ActorKind, id: string, snapshot: unknown): void {
    this.w('putActorSnapshot');
    if (!ACTOR_KINDS.includes(kind)) throw storeErrors.invalid(`actor kind must be 'job' or 'worker', not ${kind}`);
    checkKeyPart('actor id', id);
    if (snapshot === undefined) throw storeErrors.invalid('an actor snapshot cannot be undefined');
    this.dbs.actors.putSync([kind, id], snapshot);
  }

  deleteActorSnapshot(kind: ActorKind, id: string): boolean {
    this.w('deleteActorSnapshot');
    return this.dbs.actors.removeSync([kind, id]);
  }

  // ---- history

  listHistory(jobName: string, limit = Infinity): HistoryRun[] {
    this.r();
    if (limit <= 0) return [];
    const range: RangeOptions = { start: [jobName, Infinity], end: [jobName], reverse: true };
    if (Number.isFinite(limit)) range.limit = limit;
    return Array.from(this.dbs.history.getRange(range), (e) => e.value as HistoryRun);
  }

  getHistoryByUuid(uuid: string): HistoryRun | undefined {
    this.r();
    const at = this.dbs.historyUuid.get(uuid) as [string, number] | undefined;
    if (!at) return undefined;
    return this.dbs.history.get([at[0], at[1], uuid]) ?? undefined;
  }

  addHistory(run: HistoryRun): void {
    this.w('addHistory');
    const name = checkKeyPart('job name', run?.jobName);
    checkKeyPart('uuid', run.uuid);
    checkTime('startedAt', run.startedAt);
    checkTime('finishedAt', run.finishedAt);
    this.forgetRun(run.uuid);
    this.dbs.history.putSync([name, run.startedAt, run.uuid], run);
    this.dbs.historyUuid.putSync(run.uuid, [name, run.startedAt]);
    const old = Array.from(
      this.dbs.history.getKeys({ start: [name, Infinity], end: [name], reverse: true, offset: this.keepRuns }),
    );
    for (const k of old) {
      this.dbs.history.removeSync(k);
      this.dbs.historyUuid.removeSync((k as [string, number, string])[2]);
    }
  }

  deleteHistory(jobName: string): number {
    this.w('deleteHistory');
    const keys = Array.from(this.dbs.history.getKeys({ start: [jobName], end: [jobName, Infinity] }));
    for (const k of keys) {
      this.dbs.history.removeSync(k);
      this.dbs.historyUuid.removeSync((k as [string, number, string])[2]);
    }
    return keys.length;
  }

  private forgetRun(uuid: string): void {
    const at = this.dbs.historyUuid.get(uuid) as [string, number] | undefined;
    if (!at) return;
    this.dbs.history.removeSync([at[0], at[1], uuid]);
    this.dbs.historyUuid.removeSync(uuid);
  }

  // ---- upload outbox

  getOutbox(id: string): OutboxEntry | undefined {
    this.r();
    const e = this.dbs.outbox.get(id) as OutboxEntry | undefined;
    return e ? withPlainBytes(e) : undefined;
  }

  listOutbox(): OutboxEntry[] {
    this.r();
    return Array.from(this.dbs.outbox.getRange({}), (e) => withPlainBytes(e.value as OutboxEntry)).sort(
      (a, b) => a.nextAttemptAt - b.nextAttemptAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
  }

  listDueOutbox(now: number): OutboxEntry[] {
    return this.listOutbox().filter((e) => e.nextAttemptAt <= now);
  }

  putOutbox(entry: OutboxEntry): void {
    this.w('putOutbox');
    checkKeyPart('outbox id', entry?.id);
    checkTime('nextAttemptAt', entry.nextAttemptAt);
    if ((entry.path === undefined) === (entry.bytes === undefined))
      throw storeErrors.invalid('an outbox entry has exactly one of path and bytes');
    this.dbs.outbox.putSync(entry.id, entry);
  }

  deleteOutbox(id: string): boolean {
    this.w('deleteOutbox');
    return this.dbs.outbox.removeSync(id);
  }

  // ---- meta

  getMeta<T = unknown>(key: string): T | undefined {
    this.r();
    return (this.dbs.meta.get(key) ?? undefined) as T | undefined;
  }

  listMeta(): Record<string, unknown> {
    this.r();
    const out: Record<string, unknown> = {};
    for (const e of this.dbs.meta.getRange({})) out[e.key as string] = e.value;
    return out;
  }

  setMeta(key: string, value: unknown): void {
    this.w('setMeta');
    checkKeyPart('meta key', key);
    if (value === undefined) throw storeErrors.invalid('a meta value cannot be undefined (use deleteMeta)');
    this.dbs.meta.putSync(key, value);
  }

  deleteMeta(key: string): boolean {
    this.w('deleteMeta');
    return this.dbs.meta.removeSync(key);
  }

  // ---- everything

  loadAll(map: LoadMappers = {}): StoreContents {
    this.r();
    const entry = map.scheduleEntry ?? ((e: ScheduleEntry) => e);
    const job = map.queuedJob ?? ((j: Job, _p: string, _e: ScheduleEntry | undefined) => j);
    const byName = map.index ?? new Map<string, ScheduleEntry>();
    let schedule: ScheduleEntry[];
    entryEncoding.shared = true;
    try {
      // the name is in the value: the keys are not decoded
      schedule = withoutKeys(this.dbs.schedule, () =>
        Array.from(this.dbs.schedule.getRange({}), (e) => {
          const mapped = entry(e.value as ScheduleEntry, lastEntryCompact);
          byName.set(mapped.name, mapped);
          return mapped;
        }),
      );
    } finally {
      entryEncoding.shared = false;
    }
    const queues = new Map<string, Job[]>();
    // a queued job stored byte-for-byte as its schedule entry's job is read as that very object
    let found: ScheduleEntry | undefined;
    this.jobs.same = (name) => (found = byName.get(name))?.job;
    try {
      // platform by platform (every queued job's platform has its queue record), keys not decoded
      for (const p of this.listQueuePlatforms()) {
        const q: Job[] = [];
        queues.set(p, q);
        withoutKeys(this.dbs.queue, () => {
          for (const { value } of this.dbs.queue.getRange(queueRange(p))) {
            const j = value as Job;
            const e = found !== undefined && found.name === j.name ? found : byName.get(j.name);
            found = undefined;
            q.push(job(j, p, e));
          }
        });
      }
    } finally {
      this.jobs.same = undefined;
    }
    if (!map.index) byName.clear();
    return {
      schedule,
      queues,
      dropped: this.listDropped(),
      running: this.listRunning(),
      actors: ACTOR_KINDS.flatMap((k) => this.listActorSnapshots(k)),
      outbox: this.listOutbox(),
      meta: this.listMeta(),
    };
  }
}

/**
 * Runs fn, which reads a range of db synchronously and uses no key, with lmdb-js's key decoding
 * skipped (a string or an array made per record, for nothing). The read must not outlive fn: lmdb-js
 * uses the last key only to reposition a cursor whose read transaction was renewed meanwhile.
 */
function withoutKeys<T>(db: KvDb, fn: () => T): T {
  // layers above LMDB: their merge needs the keys
  if (db instanceof LayeredDb && !db.passthrough) return fn();
  const d = (db instanceof LayeredDb ? db.base : db) as unknown as { readKey: unknown };
  const readKey = d.readKey;
  d.readKey = noKey;
  try {
    return fn();
  } finally {
    d.readKey = readKey;
  }
}

const noKey = (): null => null;

/** sorts after every string a key part holds (names never start with U+10FFFF) */
const MAX_STRING = '\u{10FFFF}';

function queueRange(platform: string): RangeOptions & { start: Key; end: Key } {
  return { start: [platform, -Infinity], end: [platform, Infinity] };
}

function withPlainBytes(e: OutboxEntry): OutboxEntry {
  const b = e.bytes;
  if (b && Object.getPrototypeOf(b) !== Uint8Array.prototype)
    return { ...e, bytes: new Uint8Array(b.buffer, b.byteOffset, b.byteLength) };
  return e;
}
