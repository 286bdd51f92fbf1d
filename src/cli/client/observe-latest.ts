// builder observe-latest [--platform P] [--job J] [--follow]: observes the run that started last. With
// --follow it waits for a run when none is going, and after each run for the next one, until Ctrl-C.
import { setTimeout as sleep } from 'node:timers/promises';
import { ClientError, ClientErrorCode as E } from '../../errors/client-error.ts';
import { usageError, type ClientCommand, type Context } from './command.ts';
import { fetchInfo, type InfoView } from './info-data.ts';
import { INTERRUPTED_EXIT, interruptSignal, observeRun } from './observe-stream.ts';

interface Candidate {
  uuid: string;
  name: string;
  platform: string;
  at: number;
  running: boolean;
}

function matches(ctx: Context, name: string, platform: string): boolean {
  const job = ctx.opts.job as string | undefined;
  const wanted = ctx.opts.platform as string | undefined;
  return (job === undefined || job === name) && (wanted === undefined || wanted === platform);
}

/** Runs going now (assigned to a worker), newest start first. */
function running(ctx: Context, info: InfoView): Candidate[] {
  return info.runs
    .filter((r) => r.assignedAt !== null && ['assigned', 'running', 'uploading'].includes(r.state) && matches(ctx, r.name, r.platform))
    .map((r) => ({ uuid: r.uuid, name: r.name, platform: r.platform, at: r.assignedAt!, running: true }))
    .sort((a, b) => b.at - a.at);
}

/** Runs that finished since `since` (a run too short to be seen running), oldest first. */
function finishedSince(ctx: Context, info: InfoView, since: number): Candidate[] {
  return info.schedule
    .map((e) => e.lastRun)
    .filter((h) => h !== null && h.finishedAt > since && matches(ctx, h.jobName, h.platform))
    .map((h) => ({ uuid: h!.uuid, name: h!.jobName, platform: h!.platform, at: h!.startedAt, running: false }))
    .sort((a, b) => a.at - b.at);
}

function announce(ctx: Context, c: Candidate): void {
  if (ctx.out.json) ctx.out.printJson({ type: 'observing', uuid: c.uuid, name: c.name, platform: c.platform });
  else ctx.out.print(`Observing ${c.name} on ${c.platform} (${c.uuid})`);
}

const command: ClientCommand = {
  name: 'observe-latest',
  summary: 'Observes (as `builder observe`) the running job that started last, of a platform or a job if given. Ctrl-C stops watching (exit status 130).',
  args: [],
  options: {
    platform: { type: 'string', value: 'PLATFORM', help: 'only runs on this platform (default any)' },
    job: { type: 'string', value: 'JOB', help: 'only runs of this job (default any)' },
    follow: { type: 'boolean', help: 'when nothing runs, wait for the next run; after a run, wait for the next one; until Ctrl-C' },
    interval: { type: 'string', value: 'SECONDS', help: 'with --follow, how often to ask the server for a new run', default: '1' },
  },
  json: 'as observe, after {"type":"observing","uuid","name","platform"} for each run',
  async run(ctx) {
    const interval = Number(ctx.opts.interval) * 1000;
    if (!(interval > 0)) throw usageError(`--interval: not a positive number of seconds: ${JSON.stringify(ctx.opts.interval)}`);
    const follow = ctx.opts.follow === true;
    const interrupt = interruptSignal();
    const signal = interrupt.signal;
    try {
      let info = await fetchInfo(ctx.remote);
      if (!follow) {
        const latest = running(ctx, info)[0];
        if (!latest) {
          const filter = [ctx.opts.job && `of job ${ctx.opts.job}`, ctx.opts.platform && `on platform ${ctx.opts.platform}`].filter(Boolean).join(' ');
          throw new ClientError(E.NO_RUNNING_JOB, `No running jobs${filter ? ` ${filter}` : ''}`);
        }
        announce(ctx, latest);
        return (await observeRun(ctx.remote, latest.uuid, ctx.out, signal)) === 'interrupted' ? INTERRUPTED_EXIT : 0;
      }
      const seen = new Set<string>();
      const since = info.now;
      let waiting = false;
      for (;;) {
        const next = running(ctx, info).filter((c) => !seen.has(c.uuid))[0] ?? finishedSince(ctx, info, since).filter((c) => !seen.has(c.uuid))[0];
        if (next) {
          waiting = false;
          seen.add(next.uuid);
          announce(ctx, next);
          if ((await observeRun(ctx.remote, next.uuid, ctx.out, signal)) === 'interrupted') return INTERRUPTED_EXIT;
        } else {
          if (!waiting && !ctx.out.json) ctx.out.note('waiting for the next run (Ctrl-C to stop)');
          waiting = true;
          try {
            await sleep(interval, undefined, { signal });
          } catch {
            return INTERRUPTED_EXIT;
          }
        }
        if (signal.aborted) return INTERRUPTED_EXIT;
        info = await fetchInfo(ctx.remote);
      }
    } finally {
      interrupt.dispose();
    }
  },
};

export default command;
