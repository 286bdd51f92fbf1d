// The narrow port through which the supervisor persists: one atomic, durable change at a time.
// src/server/store-persistence.ts implements it over the store (LMDB).
import type { CatchUp, Job, Result, ScriptJob } from '../protocol/types.ts';

export type Trigger =
  | { type: 'period'; period: 'hourly' | 'daily' | 'weekly' | 'never' }
  | { type: 'cron'; expr: string; timeZone?: string };

export interface ScheduleEntry {
  name: string;
  job: Job;
  trigger: Trigger;
  /** absolute ms of the next run; null when it never runs again */
  next: number | null;
  timeoutSeconds: number;
  catchUp: CatchUp;
  /** stopped jobs (9P `stop`) are kept but never queued by time */
  paused: boolean;
  createdAt: number;
  origin: 'client' | '9p' | 'import';
  /** runs owed by catch-up 'all' beyond the one in the queue */
  pendingRuns: number;
}

export interface RunningRecord {
  uuid: string;
  jobName: string;
  platform: string;
  job: ScriptJob;
  /** the job as queued (an orb-build job stays an orb-build job when requeued) */
  queued: Job;
  startedAt: number;
  deadline: number;
  workerId: string;
}

export interface HistoryEntry {
  uuid: string;
  jobName: string;
  platform: string;
  startedAt: number;
  finishedAt: number;
  result: Result;
  resultText: string;
  resultPath?: string;
  transitions: { state: string; at: number; note?: string }[];
}

export interface OutboxEntry {
  id: string;
  uuid: string;
  jobName: string;
  path: string;
  url: string;
  attempts: number;
  nextAttemptAt: number;
  lastError?: string;
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
  load(): Promise<Loaded>;
  /** Applies the whole change atomically; resolves once it is durable on disk. */
  commit(change: Change): Promise<void>;
  history(jobName: string, limit?: number): HistoryEntry[];
  historyByUuid(uuid: string): HistoryEntry | undefined;
  close(): Promise<void>;
}
