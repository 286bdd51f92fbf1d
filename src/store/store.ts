// The contract of the persistent store: everything the server must find again after a restart.
// Nothing but the store touches LMDB (src/store/lmdb-store.ts implements this over it).
//
// Model: reads are synchronous and see committed state; every change goes through
// `transaction(fn)`, whose `fn` runs synchronously against a `StoreTx` (reads inside it see the
// transaction's own writes). If `fn` throws, nothing of it is written and the promise rejects with
// that error. The promise resolves only once the change is committed AND flushed to disk, so a
// caller may answer Success right after it. Values are plain JSON-able objects (numbers are ms
// since the epoch; `Uint8Array` where bytes); extra fields on records are kept as given.
import type { CatchUp, Job, Period, Result, ScriptJob } from '../protocol/types.ts';

/** When an entry runs: one of the original's periods, or a cron expression (src/scheduler/cron.ts). */
export type Trigger =
  | { type: 'period'; period: Period }
  /** timeZone: an IANA zone; absent means the server's zone */
  | { type: 'cron'; expr: string; timeZone?: string };

export interface ScheduleEntry {
  /** the key: always job.name */
  name: string;
  job: Job;
  trigger: Trigger;
  /** absolute ms of the next run; `null` means never (period 'never', or a cron with no future match) */
  next: number | null;
  timeoutSeconds: number;
  catchUp: CatchUp;
  /** stopped jobs (9P `stop`) are kept but never queued by time, and not in `listDueSchedule` */
  paused: boolean;
  createdAt: number;
  /** who made it: 'client' | '9p' | 'web' | 'import' ... */
  origin?: string;
  /** runs owed by catch-up 'all' beyond the one in the queue */
  pendingRuns?: number;
}

export interface RunningJob {
  /** the key: the uuid in its text form (8-4-4-4-12 hex) */
  uuid: string;
  jobName: string;
  platform: string;
  job: ScriptJob;
  /** the job as queued (an orb-build job stays an orb-build job when requeued) */
  queued?: Job;
  startedAt: number;
  /** absolute ms when the server's timeout fires */
  deadline: number;
  workerId?: string;
}

export interface HistoryRun {
  uuid: string;
  jobName: string;
  platform: string;
  startedAt: number;
  finishedAt: number;
  result: Result;
  resultText?: string;
  resultPath?: string;
  transitions?: { state: string; at: number; note?: string }[];
}

/** A result waiting to be uploaded. Exactly one of `path` (the body is that file) or `bytes`. */
export interface OutboxEntry {
  id: string;
  uuid: string;
  jobName: string;
  path?: string;
  bytes?: Uint8Array;
  /** where to POST; absent means the server's configured upload URL */
  url?: string;
  attempts: number;
  nextAttemptAt: number;
  lastError?: string;
}

export type ActorKind = 'job' | 'worker';

export interface ActorSnapshotRecord {
  kind: ActorKind;
  id: string;
  snapshot: unknown;
}

/** Everything but the history, read in one go at startup. */
export interface StoreContents {
  schedule: ScheduleEntry[];
  /** every platform whose queue exists (possibly empty), jobs front first */
  queues: Map<string, Job[]>;
  dropped: string[];
  running: RunningJob[];
  actors: ActorSnapshotRecord[];
  outbox: OutboxEntry[];
  meta: Record<string, unknown>;
}

export interface StoreReader {
  getSchedule(name: string): ScheduleEntry | undefined;
  /** every entry, by name */
  listSchedule(): ScheduleEntry[];
  countSchedule(): number;
  /** entries not paused with next !== null and next <= now, earliest first (an index: cost is O(result)) */
  listDueSchedule(now: number, limit?: number): ScheduleEntry[];
  /** the earliest `next` among entries not paused, or null when none will run */
  earliestNext(): number | null;

  hasQueue(platform: string): boolean;
  /** platforms whose queue exists, by name */
  listQueuePlatforms(): string[];
  /** the queue front first; [] for an unknown platform */
  listQueue(platform: string): Job[];
  queueLength(platform: string): number;
  isQueued(platform: string, name: string): boolean;
  peekQueue(platform: string): Job | undefined;

  isDropped(platform: string): boolean;
  listDropped(): string[];

  getRunning(uuid: string): RunningJob | undefined;
  listRunning(): RunningJob[];

  getActorSnapshot(kind: ActorKind, id: string): unknown | undefined;
  listActorSnapshots(kind: ActorKind): ActorSnapshotRecord[];

  /** newest first (by startedAt), at most `limit` (default: all kept) */
  listHistory(jobName: string, limit?: number): HistoryRun[];
  getHistoryByUuid(uuid: string): HistoryRun | undefined;

  getOutbox(id: string): OutboxEntry | undefined;
  /** every entry, earliest nextAttemptAt first */
  listOutbox(): OutboxEntry[];
  /** entries with nextAttemptAt <= now, earliest first */
  listDueOutbox(now: number): OutboxEntry[];

  getMeta<T = unknown>(key: string): T | undefined;
  listMeta(): Record<string, unknown>;

  /** everything but the history, for startup; `map` is applied to each record as it is read */
  loadAll(map?: LoadMappers): StoreContents;
}

/**
 * Applied to each schedule entry and queued job as it is read (entries first), so that a caller
 * keeping a smaller copy lets the decoded record go at once, not after all 100k are read.
 */
export interface LoadMappers {
  /**
   * Each entry (as `scheduleEntry` returned it) is also set here by its name: the caller's own map,
   * so that no second one is built; queued jobs are matched against it. Absent: a map of the load's own.
   */
  index?: Map<string, ScheduleEntry>;
  /**
   * `flat`: the entry's strings are its own (read from the compact layout, src/store/record-codec.ts);
   * otherwise (a msgpack record) a long string may be a slice of the whole record's text.
   */
  scheduleEntry?(e: ScheduleEntry, flat: boolean): ScheduleEntry;
  /**
   * `entry`: the schedule entry of the job's name as `scheduleEntry` returned it, if any. A queued job
   * stored byte-for-byte as that entry's job is given as `entry.job` itself (the same object).
   */
  queuedJob?(j: Job, platform: string, entry: ScheduleEntry | undefined): Job;
}

export interface StoreWriter {
  /** inserts or replaces the entry under entry.name (which must equal entry.job.name) */
  putSchedule(entry: ScheduleEntry): void;
  deleteSchedule(name: string): boolean;

  /** makes the platform's queue exist (empty); no-op when it does */
  ensureQueue(platform: string): void;
  /** adds at the back (creating the queue); false and no change when the name is already queued there */
  pushBack(platform: string, job: Job): boolean;
  /** puts at the front (creating the queue); an already queued job of that name moves to the front */
  pushFront(platform: string, job: Job): 'added' | 'moved';
  /** takes the front job off */
  popFront(platform: string): Job | undefined;
  removeFromQueue(platform: string, name: string): boolean;
  /** removes the name from every queue; returns the platforms it was removed from */
  removeFromAllQueues(name: string): string[];
  /** empties the queue, which keeps existing; returns how many jobs were removed */
  clearQueue(platform: string): number;
  /** removes the queue and its jobs; false when it did not exist */
  deleteQueue(platform: string): boolean;

  /** false when already dropped */
  addDropped(platform: string): boolean;
  /** false when not dropped */
  removeDropped(platform: string): boolean;

  putRunning(run: RunningJob): void;
  deleteRunning(uuid: string): boolean;

  putActorSnapshot(kind: ActorKind, id: string, snapshot: unknown): void;
  deleteActorSnapshot(kind: ActorKind, id: string): boolean;

  /** records a finished run (replacing one with the same uuid) and trims the job's history to the limit */
  addHistory(run: HistoryRun): void;
  /** forgets a job's whole history; returns how many runs */
  deleteHistory(jobName: string): number;

  putOutbox(entry: OutboxEntry): void;
  deleteOutbox(id: string): boolean;

  setMeta(key: string, value: unknown): void;
  deleteMeta(key: string): boolean;
}

export interface StoreTx extends StoreReader, StoreWriter {}

export interface TransactionOptions {
  lazy?: boolean;
}

export interface Store extends StoreReader {
  /** the server's --dir */
  readonly dir: string;
  readonly readOnly: boolean;
  /** runs kept per job name by addHistory */
  readonly historyLimit: number;
  /**
   * Runs `fn` (synchronous; a returned promise is refused) as one atomic transaction. Resolves with
   * its return value once durable on disk; if `fn` throws, nothing is written and it rejects.
   * Refused with ERR_STORE_READ_ONLY on a read-only store. `opts.lazy`: nobody waits on this commit at once,
   * so it may wait one more turn of the event loop for other transactions to share its disk sync (durable
   * all the same before the promise resolves).
   */
  transaction<T>(fn: (tx: StoreTx) => T, opts?: TransactionOptions): Promise<T>;
  /** resolves when pending writes are flushed; later calls are refused with ERR_STORE_CLOSED */
  close(): Promise<void>;
}

/** Well-known meta keys. */
export const META_SCHEMA_VERSION = 'schemaVersion';
/** ms of the last scheduler tick; the start of a catch-up after downtime */
export const META_LAST_TICK = 'lastTick';

export const DEFAULT_HISTORY_LIMIT = 50;
