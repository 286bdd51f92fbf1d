// jobd's name space (src/ninep/jobs-backend.ts) over the supervisor: one schedule for 9P, the CLI
// and the web. A job made through /clone is a builder job with a cron trigger, created stopped.
import { readFileSync } from 'node:fs';
import { decodeExec } from '../protocol/exec-codec.ts';
import type { JobLogEntry, JobRunView, JobsBackend, JobView } from '../ninep/jobs-backend.ts';
import type { HistoryEntry, ScheduleEntry } from './persistence.ts';
import { jobPlatform, NO_PLATFORM, type Supervisor } from './supervisor.ts';

const LOG_ENTRIES = 32;
const dec = new TextDecoder();

function consoleOf(h: HistoryEntry): Uint8Array {
  if (!h.resultPath) return new Uint8Array();
  try {
    const exec = decodeExec(new Uint8Array(readFileSync(h.resultPath)));
    const lines = exec.console.map((c) => c.line).reverse();
    return Buffer.concat(lines.flatMap((l) => [Buffer.from(l), Buffer.from('\n')]));
  } catch {
    return new Uint8Array();
  }
}

function scheduleText(e: ScheduleEntry): string {
  if (e.trigger.type === 'cron') return e.trigger.expr;
  return e.trigger.period === 'never' ? '' : `@${e.trigger.period}`;
}

export function jobsBackendOf(sup: Supervisor, opts: { defaultPlatform?: string } = {}): JobsBackend {
  const view = (e: ScheduleEntry): JobView => {
    const name = e.name;
    // Log and runs read result files: computed only when a file asks for them.
    const v = {
      name,
      platform: jobPlatform(e.job) ?? 'all platforms with an orb-build template',
      command: e.job.type === 'script' ? e.job.script : `orb-build ${e.job.opamPackage}`,
      schedule: scheduleText(e),
      ...(e.trigger.type === 'cron' && e.trigger.timeZone ? { timeZone: e.trigger.timeZone } : {}),
      started: !e.paused,
      nextRun: e.paused ? null : e.next,
      get log(): JobLogEntry[] {
        return sup
          .history(name, LOG_ENTRIES)
          .reverse()
          .map((h) => ({ time: h.finishedAt, output: dec.decode(consoleOf(h)) + h.resultText }));
      },
      get runs(): JobRunView[] {
        const done: JobRunView[] = sup
          .history(name, LOG_ENTRIES)
          .reverse()
          .map((h) => ({ uuid: h.uuid, status: h.resultText, started: h.startedAt, finished: h.finishedAt, get console() { return consoleOf(h); } }) as JobRunView);
        const active: JobRunView[] = sup
          .activeRuns()
          .filter((r) => r.context.jobName === name)
          .map((r) => ({
            uuid: r.uuid,
            status: r.state,
            ...(r.context.assignedAt !== undefined ? { started: r.context.assignedAt } : {}),
            console: Buffer.concat(r.console.held().flatMap((l) => [Buffer.from(l.line), Buffer.from('\n')])),
          }));
        return [...done, ...active];
      },
    };
    return v;
  };
  return {
    listJobs: () => [...sup.schedule.values()].sort((a, b) => a.name.localeCompare(b.name)).map(view),
    getJob: (name) => {
      const e = sup.schedule.get(name);
      return e ? view(e) : undefined;
    },
    createJob: (def) =>
      sup.scheduleJob({
        job: { type: 'script', name: def.name, script: def.command, platform: def.platform ?? opts.defaultPlatform ?? NO_PLATFORM },
        trigger: { type: 'cron', expr: def.cronExpr, ...(def.timeZone ? { timeZone: def.timeZone } : {}) },
        paused: true,
        origin: '9p',
        queueNow: false,
      }),
    setStarted: (name, started) => sup.setPaused(name, !started),
    deleteJob: (name) => sup.unschedule(name),
    queues: () => sup.infoExtended().queues,
    workers: () =>
      sup.infoExtended().workers.map((w) => ({
        id: w.id,
        platform: w.platform ?? '',
        remote: w.remote,
        state: w.state === 'busy' && w.uuid ? `running ${sup.runContext(w.uuid)?.context.jobName ?? '?'} ${w.uuid}` : w.state,
      })),
  };
}
