// The values of the builder wire protocol (../shared/spec/PROTOCOL.md), one discriminated union per ASN.1 type.
// Raw bytes (uuids, file contents, console lines) are Uint8Array and never decoded as text.

export type Bytes = Uint8Array;

/** 16 raw bytes, as on the wire (a UTF8String holding them). */
export type Uuid = Uint8Array;

export type Period = 'hourly' | 'daily' | 'weekly' | 'never';

export interface ScriptJob {
  type: 'script';
  name: string;
  script: string;
  /** Absent on the wire reads as undefined; the server treats it as "no-platform". */
  platform?: string;
}

export interface OrbBuildJob {
  type: 'orb-build';
  name: string;
  opamPackage: string;
}

export type Job = ScriptJob | OrbBuildJob;

export type Result =
  | { type: 'exited'; code: number }
  | { type: 'signalled'; signal: number }
  | { type: 'stopped'; signal: number }
  | { type: 'msg'; message: string };

export interface File {
  /** Relative path as sent; checked for traversal where it is written, not here. */
  path: string;
  data: Bytes;
}

export interface ScheduleItem {
  next: Date;
  period: Period;
  job: Job;
}

export interface Queue {
  platform: string;
  jobs: Job[];
}

export interface Running {
  started: Date;
  uuid: Uuid;
  job: ScriptJob;
}

export interface Info {
  schedule: ScheduleItem[];
  queues: Queue[];
  running: Running[];
  droppedPlatforms: string[];
}

export type CatchUp =
  | { type: 'one' } // the original: one run for any number of missed runs
  | { type: 'skip' } // no run for missed times, wait for the next
  | { type: 'all'; max: number }; // every missed run, up to max

/** Our extension of Schedule: a cron trigger, a time zone, a timeout, a catch-up policy. */
export interface ScheduleExtended {
  job: Job;
  period?: Period;
  cron?: string;
  timeZone?: string;
  timeoutSeconds?: number;
  catchUp?: CatchUp;
}

export type Cmd =
  | { type: 'job-schedule'; uuid: Uuid; job: ScriptJob } // [2]
  | { type: 'job-finished'; uuid: Uuid; result: Result; files: File[] } // [3]
  // [4]: Output when timestamp is undefined, OutputTimestamped (ns since job start) otherwise
  | { type: 'output'; uuid: Uuid; line: Bytes; timestamp?: bigint }
  | { type: 'schedule'; period: Period; job: ScriptJob } // [5]
  | { type: 'info' } // [6]
  | { type: 'unschedule'; name: string } // [9]
  | { type: 'observe'; uuid: Uuid } // [10]
  | { type: 'schedule-orb-build'; period: Period; job: OrbBuildJob } // [12]
  | { type: 'reschedule'; name: string; next: Date; period?: Period } // [13]
  | { type: 'client-hello'; kind: 'client' | 'worker'; version: number } // [14]
  | { type: 'server-hello' } // [15]
  | { type: 'job-requested'; platform: string } // [16]
  | { type: 'drop-platform'; platform: string } // [17]
  | { type: 'success' } // [18]
  | { type: 'failure'; message: string } // [19]
  // [20]; [11] (old Execute) decodes to this with legacy: true
  | { type: 'execute'; name: string; platform?: string; legacy?: true }
  | { type: 'undrop-platform'; platform: string } // [21]
  // [22]; [7] (old InfoReply, no dropped platforms) decodes to this with legacy: true, never sent
  | { type: 'info-reply'; info: Info; legacy?: true }
  // Our extensions, tags [23] on; sent only by our client when it uses such a feature (docs/PROTOCOL-EXTENSIONS.md).
  | { type: 'schedule-extended'; schedule: ScheduleExtended } // [23]
  | { type: 'history'; name: string } // [24]
  | { type: 'history-reply'; json: string } // [25] UTF8String holding a JSON document
  | { type: 'info-extended' } // [26]
  | { type: 'info-extended-reply'; json: string }; // [27] UTF8String holding a JSON document

export type CmdType = Cmd['type'];
export type CmdOf<T extends CmdType> = Extract<Cmd, { type: T }>;

export interface ConsoleLine {
  /** nanoseconds since the job started */
  delta: bigint;
  line: Bytes;
}

/** The job result: the `full` file, the upload body. Exec [1] is never valid and is refused. */
export interface Exec {
  job: ScriptJob;
  uuid: Uuid;
  /** In wire order (the original writes newest first). */
  console: ConsoleLine[];
  started: Date;
  finished: Date;
  result: Result;
  files: File[];
}

/** The original's `<dir>/state` file. Obsolete items ([0], [2]) decode to 'obsolete' and are skipped with a warning. */
export type StateItem =
  | { type: 'schedule'; item: ScheduleItem; legacy?: true } // [3]; [1] (UTCTime, script job) sets legacy
  | { type: 'queue'; queue: Queue } // [4]
  | { type: 'dropped-platform'; platform: string } // [5]
  | { type: 'obsolete'; tag: 0 | 2 };

export type State = StateItem[];

export const CLIENT_VERSION = 13;
export const WORKER_VERSION = 5;
