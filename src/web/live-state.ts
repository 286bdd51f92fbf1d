// What the web frontend needs from a running scheduler (the server provides it; `builder web` alone has none).

export interface LiveScheduleEntry {
  job: string;
  platform?: string;
  /** "hourly", "daily", "weekly", "never" or a cron expression */
  trigger: string;
  /** ms since the epoch; not finite (NaN) when it never runs again */
  next: number;
}

export interface LiveRunning {
  uuid: string;
  job: string;
  platform: string;
  /** ms since the epoch */
  startedAt: number;
  /** the job-run machine's current state */
  state: string;
}

export interface LiveWorker {
  id: string;
  platform: string;
  address?: string;
  /** ms since the epoch */
  connectedAt: number;
  /** uuid of the job it runs, if any */
  running?: string;
}

export interface LiveSnapshot {
  schedule: LiveScheduleEntry[];
  queues: { platform: string; jobs: string[] }[];
  running: LiveRunning[];
  workers: LiveWorker[];
  dropped: string[];
}

export interface LifecycleStep {
  state: string;
  /** ms since the epoch when the state was entered */
  at: number;
}

export interface LiveState {
  snapshot(): LiveSnapshot;
  /**
   * Every console line so far, then each new one as it comes; onEnd once with the result text
   * ("exited 0", ...) when the job ends (at once when it has ended). Returns the unsubscribe function.
   * Unknown uuids get onEnd('uuid not found').
   */
  subscribeConsole(uuid: string, onLine: (deltaNs: bigint, line: Uint8Array) => void, onEnd: (result: string) => void): () => void;
  /** The states a job run went through, oldest first; undefined for an unknown uuid. */
  lifecycle(uuid: string): LifecycleStep[] | undefined;
}
