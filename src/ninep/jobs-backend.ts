// What the jobd name space needs from the builder: one schedule, seen and changed through 9P.
// The builder server implements this over its supervisor; a job made through /clone is a builder
// job, and every builder job (scheduled by the CLI too) shows under /jobs.

export interface JobLogEntry {
  /** ms since the epoch: when the run finished */
  time: number;
  /** what the run printed (its console), as text */
  output: string;
}

export interface JobRunView {
  /** the run's uuid as 32 lowercase hex digits or the canonical dashed form */
  uuid: string;
  /** one line, e.g. "running", "exited 0", "signalled 9", "failed: <message>" */
  status: string;
  /** ms since the epoch */
  started?: number;
  finished?: number;
  /** the console as it stands (all of it for a finished run) */
  console: Uint8Array;
}

export interface JobView {
  name: string;
  /** the platform whose workers run it ("no-platform" for a job without one) */
  platform: string;
  /** the shell script (or, for an orb build, a one-line description of it) */
  command: string;
  /**
   * The job's trigger as the schedule file shows it: the cron expression as written, or for a
   * job on a period "@hourly" / "@daily" / "@weekly", or "" for a job that never repeats.
   */
  schedule: string;
  /** the cron time zone when the job names one */
  timeZone?: string;
  /** started: scheduled runs happen; stopped: they do not (the job stays defined) */
  started: boolean;
  /** ms since the epoch of the next scheduled run, null when stopped or never */
  nextRun: number | null;
  /** the last 32 (or fewer) finished runs' output, oldest first */
  log: JobLogEntry[];
  /** recent runs, oldest first */
  runs: JobRunView[];
}

export interface JobDefinition {
  /** letters, digits and `_`; checked by the name space before it gets here */
  name: string;
  /** jobd's cron dialect: 5, 6 (year last) or 7 (seconds first, year last) fields, ?, L, W, #, @daily ... */
  cronExpr: string;
  /** from a "TZ=Zone " / "CRON_TZ=Zone " prefix of the expression, else the server's zone */
  timeZone?: string;
  command: string;
  /** absent: the server's default platform */
  platform?: string;
}

export interface QueueView {
  platform: string;
  /** job names waiting, in queue order */
  jobs: string[];
}

export interface WorkerView {
  id: string;
  platform: string;
  /** peer address, e.g. "127.0.0.1:41234" */
  remote: string;
  /** e.g. "idle", "running <job> <uuid>" */
  state: string;
}

/**
 * Errors: throw a BuilderError (src/errors/builder-error.ts) whose message is what the 9P user
 * should read; it becomes the Rerror text. Its errno (9P2000.u / .L) comes from a NinepError's
 * errno, else from the code's wording: NOT_FOUND / UNKNOWN_JOB / NO_SUCH -> ENOENT,
 * EXISTS / DUPLICATE -> EEXIST, PERMISSION / READ_ONLY -> EACCES, anything else -> EINVAL.
 */
export interface JobsBackend {
  listJobs(): JobView[] | Promise<JobView[]>;
  getJob(name: string): JobView | undefined | Promise<JobView | undefined>;
  /** Creates the job stopped. Throws on a duplicate name, a bad expression, or one that never fires. */
  createJob(def: JobDefinition): Promise<void>;
  /** Persisted: a restarted server keeps the job started or stopped. */
  setStarted(name: string, started: boolean): Promise<void>;
  deleteJob(name: string): Promise<void>;
  queues(): QueueView[] | Promise<QueueView[]>;
  workers(): WorkerView[] | Promise<WorkerView[]>;
}
