// What `info` shows: the original's Info, and the extended view our own client shows.
import type { ProcessStatsSnapshot } from '../observability/process-stats.ts';
import type { CatchUp, Info, Job, Period } from '../protocol/types.ts';
import type { HistoryEntry, Trigger } from './persistence.ts';
import { jobPlatform, NEVER_DATE, type SupervisorCore } from './supervisor-core.ts';

export interface InfoExtended {
  now: number;
  schedule: {
    name: string;
    type: Job['type'];
    platform: string | null;
    trigger: Trigger;
    next: number | null;
    timeoutSeconds: number;
    catchUp: CatchUp;
    paused: boolean;
    pendingRuns: number;
    lastRun: HistoryEntry | null;
  }[];
  queues: { platform: string; jobs: string[] }[];
  runs: {
    uuid: string;
    name: string;
    platform: string;
    state: string;
    workerId: string | null;
    assignedAt: number | null;
    deadline: number | null;
    attempts: number;
    consoleLines: number;
  }[];
  workers: { id: string; remote: string; state: string; platform: string | null; uuid: string | null; connectedAt: number }[];
  dropped: string[];
  /** the server process: memory, GC pauses and store flushes (absent where the supervisor runs without them) */
  server?: ProcessStatsSnapshot;
}

export function info(core: SupervisorCore): Info {
  const schedule = [...core.schedule.values()]
    .sort((a, b) => (a.next ?? Infinity) - (b.next ?? Infinity))
    .map((e) => ({
      next: e.next === null ? NEVER_DATE : new Date(e.next),
      period: e.trigger.type === 'period' ? e.trigger.period : ('never' as Period),
      job: e.job,
    }));
  const queues = [...core.queues].map(([platform, q]) => ({ platform, jobs: q.jobs() }));
  const running = [...core.runs.values()]
    .filter((r) => r.job && ['assigned', 'running', 'uploading'].includes(core.stateOf(r)))
    .map((r) => ({ started: new Date(r.actor.getSnapshot().context.assignedAt!), uuid: r.uuidBytes, job: r.job! }));
  return { schedule, queues, running, droppedPlatforms: [...core.dropped].sort() };
}

/** Everything our own client shows: triggers, timeouts, run states, workers. */
export function infoExtended(core: SupervisorCore): InfoExtended {
  const now = core.now();
  return {
    now,
    schedule: [...core.schedule.values()]
      .sort((a, b) => (a.next ?? Infinity) - (b.next ?? Infinity))
      .map((e) => ({
        name: e.name,
        type: e.job.type,
        platform: jobPlatform(e.job) ?? null,
        trigger: e.trigger,
        next: e.next,
        timeoutSeconds: e.timeoutSeconds,
        catchUp: e.catchUp,
        paused: e.paused,
        pendingRuns: e.pendingRuns,
        lastRun: core.opts.persistence.history(e.name, 1)[0] ?? null,
      })),
    queues: [...core.queues].map(([platform, q]) => ({ platform, jobs: q.names_() })),
    runs: [...core.runs.values()].map((r) => {
      const c = r.actor.getSnapshot().context;
      return {
        uuid: r.uuid,
        name: c.jobName,
        platform: c.platform,
        state: core.stateOf(r),
        workerId: c.workerId ?? null,
        assignedAt: c.assignedAt ?? null,
        deadline: c.deadline ?? null,
        attempts: c.attempts,
        consoleLines: r.console.held().length,
      };
    }),
    workers: [...core.workers.values()].map((w) => {
      const s = w.getSnapshot();
      return { id: s.context.id, remote: s.context.remote, state: String(s.value), platform: s.context.platform ?? null, uuid: s.context.uuid ?? null, connectedAt: s.context.connectedAt };
    }),
    dropped: [...core.dropped].sort(),
    ...(core.opts.stats ? { server: core.opts.stats.snapshot() } : {}),
  };
}
