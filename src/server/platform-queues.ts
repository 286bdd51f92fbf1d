// The per-platform queues: adding jobs, creating a platform's queue from the schedule on first use,
// and handing queued jobs to the workers waiting on the platform.
import type { Job, ScriptJob } from '../protocol/types.ts';
import { JobQueue } from './job-queue.ts';
import type { Change } from './persistence.ts';
import { assign } from './run-assignment.ts';
import { jobPlatform, qkey, type SupervisorCore } from './supervisor-core.ts';

/** Queues the job; hands queued jobs to waiting workers at once unless `handOut` is false (the caller does it later). */
export function addToQueues(core: SupervisorCore, job: Job, change: Change, handOut = true): void {
  if (job.type === 'orb-build') {
    // Every existing queue, template or not, as the original does (its info lists them so); a platform
    // without a template drops the job when a worker takes it, with a warning, and `execute` refuses it.
    for (const platform of core.queues.keys()) {
      if (queueBack(core, platform, job, change) && handOut) dispatch(core, platform, change);
    }
    // Workers waiting on a platform without a queue yet: it is made from the schedule now.
    for (const platform of [...core.waiters.keys()]) if (!core.queues.has(platform)) (handOut ? dispatch(core, platform, change) : findQueue(core, platform, change));
    return;
  }
  const platform = jobPlatform(job)!;
  if (!findQueue(core, platform, change)) return;
  queueBack(core, platform, job, change);
  if (handOut) dispatch(core, platform, change);
}

/** The platform's queue, created from the schedule on first use, as the original does. */
export function findQueue(core: SupervisorCore, platform: string, change: Change): JobQueue | undefined {
  const existing = core.queues.get(platform);
  if (existing) return existing;
  if (core.dropped.has(platform)) return undefined;
  const hasTemplate = core.templates.exists(platform);
  const jobs: Job[] = [];
  for (const e of core.schedule.values()) {
    if (e.paused) continue;
    const p = jobPlatform(e.job);
    if (p === platform || (p === undefined && hasTemplate)) jobs.push(e.job);
  }
  if (jobs.length === 0) return undefined;
  const q = new JobQueue(jobs);
  core.queues.set(platform, q);
  (change.createQueue ??= []).push(platform);
  for (const job of jobs) change.queue!.push({ op: 'push-back', platform, job });
  return q;
}

export function queueBack(core: SupervisorCore, platform: string, job: Job, change: Change): boolean {
  const q = core.queues.get(platform);
  if (!q || !q.pushBack(job)) return false;
  change.queue!.push({ op: 'push-back', platform, job });
  core.bus.emit('queue:added', { platform, name: job.name, front: false });
  return true;
}

export function queueFront(core: SupervisorCore, platform: string, job: Job, change: Change): void {
  let q = core.queues.get(platform);
  if (!q) {
    q = new JobQueue();
    core.queues.set(platform, q);
    (change.createQueue ??= []).push(platform);
  }
  q.pushFront(job);
  change.queue!.push({ op: 'push-front', platform, job });
  core.bus.emit('queue:added', { platform, name: job.name, front: true });
  dispatch(core, platform, change);
}

export function queueBackAndDispatch(core: SupervisorCore, platform: string, job: Job, change: Change): void {
  if (job.type === 'orb-build' || findQueue(core, platform, change)) {
    queueBack(core, platform, job, change);
    dispatch(core, platform, change);
  }
}

/** Hands queued jobs to waiting workers of the platform. */
export function dispatch(core: SupervisorCore, platform: string, change: Change): void {
  const waiting = core.waiters.get(platform);
  if (!waiting || waiting.length === 0) return;
  const q = findQueue(core, platform, change);
  while (q && q.length > 0 && waiting.length > 0) {
    // A job still running on this platform waits in the queue until that run ends.
    const job = q.take((j) => !core.active.has(qkey(platform, j.name)));
    if (!job) break;
    change.queue!.push({ op: 'remove', platform, name: job.name });
    let script: ScriptJob;
    try {
      script = core.templates.toScriptJob(job, platform);
    } catch (e) {
      core.bus.emit('job:failed', { uuid: '', name: job.name, reason: (e as Error).message });
      core.bus.log('warn', `job ${job.name} not run on ${platform}: ${(e as Error).message}`);
      continue;
    }
    const waiter = waiting.shift()!;
    const assignment = assign(core, waiter.worker, platform, job, script, change);
    (change.after ??= []).push(() => waiter.resolve(assignment));
  }
  if (waiting.length === 0) core.waiters.delete(platform);
}
