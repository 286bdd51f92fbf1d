// The narrow port through which the supervisor persists: one atomic, durable change at a time.
// src/server/store-persistence.ts implements it over the store (LMDB).
import type { CatchUp, Job } from '../protocol/types.ts';
import type * as S from '../store/store.ts';

export type Trigger = S.Trigger;

/** A schedule entry as the supervisor keeps it: the store's record with every field present. */
export interface ScheduleEntry extends S.ScheduleEntry {
  origin: 'client' | '9p' | 'import';
  /** runs owed by catch-up 'all' beyond the one in the queue */
  pendingRuns: number;
}

export interface RunningRecord extends S.RunningJob {
  /** the job as queued (an orb-build job stays an orb-build job when requeued) */
  queued: Job;
  workerId: string;
}

export interface HistoryEntry extends S.HistoryRun {
  resultText: string;
  transitions: { state: string; at: number; note?: string }[];
}

/** Results are uploaded from their file, to the URL the server had when the run finished. */
export interface OutboxEntry extends S.OutboxEntry {
  path: string;
  url: string;
}

export type QueueOp =
  | { op: 'push-back'; platform: string; job: Job }
  | { op: 'push-front'; platform: string; job: Job }
  | { op: 'remove'; platform: string; name: string }
  | { op: 'clear'; platform: string };

export interface Change {
  putSchedule?: ScheduleEntry[];
  deleteSchedule?: string[];
  queue?: QueueOp[];
  /** platforms whose queue exists (possibly empty) */
  createQueue?: string[];
  deleteQueue?: string[];
  putDropped?: string[];
  deleteDropped?: string[];
  putRunning?: RunningRecord[];
  deleteRunning?: string[];
  putActor?: { kind: 'job' | 'worker'; id: string; snapshot: unknown }[];
  deleteActor?: { kind: 'job' | 'worker'; id: string }[];
  addHistory?: HistoryEntry[];
  putOutbox?: OutboxEntry[];
  deleteOutbox?: string[];
  meta?: Record<string, unknown>;
  /** not persisted: run once the change is durable (a worker gets its job only then) */
  after?: (() => void)[];
  /** not persisted: run (last first) when the change could not be made durable, to put memory back as it was */
  undo?: (() => void)[];
  /**
   * not persisted: nobody waits on this change at once (a run's end), so its commit may wait one more turn of
   * the event loop for other changes to share its disk sync (store.ts, TransactionOptions); durable all the same
   */
  lazy?: boolean;
}

export interface Loaded {
  schedule: ScheduleEntry[];
  queues: Map<string, Job[]>;
  dropped: string[];
  running: RunningRecord[];
  actors: { kind: 'job' | 'worker'; id: string; snapshot: unknown }[];
  outbox: OutboxEntry[];
  meta: Record<string, unknown>;
}

export interface Persistence {
  /** Everything but the history. `schedule`: a map the entries are also set into by name, as they are read. */
  load(schedule?: Map<string, ScheduleEntry>): Promise<Loaded>;
  /** Applies the whole change atomically; resolves once it is durable on disk. */
  commit(change: Change): Promise<void>;
  history(jobName: string, limit?: number): HistoryEntry[];
  historyByUuid(uuid: string): HistoryEntry | undefined;
  /** the uploads waiting, earliest attempt first */
  outbox(): OutboxEntry[];
  close(): Promise<void>;
}

/** A new schedule entry with the defaults of the original: catch-up 'one', started, no runs owed. */
export function newScheduleEntry(
  job: Job,
  trigger: Trigger,
  next: number | null,
  now: number,
  opts: { timeoutSeconds: number; catchUp?: CatchUp; paused?: boolean; origin?: ScheduleEntry['origin'] },
): ScheduleEntry {
  return {
    name: job.name,
    job,
    trigger,
    next,
    timeoutSeconds: opts.timeoutSeconds,
    catchUp: opts.catchUp ?? { type: 'one' },
    paused: opts.paused ?? false,
    createdAt: now,
    origin: opts.origin ?? 'client',
    pendingRuns: 0,
  };
}
