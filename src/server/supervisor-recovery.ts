// Start: the persisted state is read back; runs that were with a worker when the server stopped go
// back to the front of their queue, runs already waiting again keep their identity.
import type { JobRunContext } from '../../machines/job-run.ts';
import { JobQueue } from './job-queue.ts';
import type { Change, Loaded } from './persistence.ts';
import { queueFront } from './platform-queues.ts';
import { restoreRun } from './run-assignment.ts';
import { finishUnscheduled } from './run-completion.ts';
import { tick } from './schedule-timer.ts';
import { qkey, type SupervisorCore } from './supervisor-core.ts';

export async function recover(core: SupervisorCore): Promise<void> {
  const t0 = Date.now();
  // `loaded` (every record as read, ~100 MB at 100k jobs) must not stay in this function's suspended frame
  const { change, requeued } = await loadState(core);
  // the recovery's change and the first tick's are asked for in one turn: one commit, one sync, both
  // durable before the server listens
  const recovered = core.commit(change);
  core.lifecycle.send({ type: 'RECOVERED', at: core.now(), requeued });
  const ticked = tick(core);
  await Promise.all([recovered, ticked]);
  core.bus.emit('server:recovered', {
    requeued,
    schedule: core.schedule.size,
    queued: [...core.queues.values()].reduce((n, q) => n + q.length, 0),
    ms: Date.now() - t0,
  });
}

async function loadState(core: SupervisorCore): Promise<{ change: Change; requeued: number }> {
  // the entries go into core.schedule as they are read (no second map of 100k names)
  return restoreState(core, await core.opts.persistence.load(core.schedule));
}

function restoreState(core: SupervisorCore, loaded: Loaded): { change: Change; requeued: number } {
  const now = core.now();
  core.lifecycle.send({ type: 'LOADED', at: now });
  // the entries are in core.schedule already (read into it); a store without that index is set here
  if (core.schedule.size !== loaded.schedule.length) for (const e of loaded.schedule) core.schedule.set(e.name, e);
  core.due.fill(dueTimes(loaded.schedule));
  // queued jobs already share their schedule entry's job object (store-persistence.ts)
  for (const [p, jobs] of loaded.queues) core.queues.set(p, new JobQueue(jobs));
  for (const p of loaded.dropped) core.dropped.add(p);

  const change: Change = { deleteActor: [], putActor: [], deleteRunning: [], queue: [] };
  const snapshots = new Map<string, unknown>();
  for (const a of loaded.actors) {
    if (a.kind === 'worker') change.deleteActor!.push({ kind: 'worker', id: a.id });
    else snapshots.set(a.id, a.snapshot);
  }
  let requeued = 0;
  for (const r of loaded.running) {
    const run = restoreRun(core, r.uuid, snapshots.get(r.uuid), r.queued, r.platform, r.startedAt);
    snapshots.delete(r.uuid);
    run.actor.send({ type: 'REQUEUE', at: now, reason: 'server restarted' });
    change.deleteRunning!.push(r.uuid);
    change.putActor!.push({ kind: 'job', id: r.uuid, snapshot: run.actor.getPersistedSnapshot() });
    if (core.schedule.has(r.jobName)) {
      queueFront(core, r.platform, r.queued, change);
      core.waitingRuns.set(qkey(r.platform, r.jobName), r.uuid);
      requeued++;
      core.bus.emit('job:requeued', { uuid: r.uuid, name: r.jobName, platform: r.platform, reason: 'server restarted' });
    } else {
      finishUnscheduled(core, run, change);
    }
  }
  for (const [uuid, snapshot] of snapshots) {
    const ctx = (snapshot as { context?: JobRunContext; value?: string }).context;
    const value = (snapshot as { value?: string }).value;
    if (!ctx || value !== 'waiting') {
      change.deleteActor!.push({ kind: 'job', id: uuid });
      continue;
    }
    const queued = core.schedule.get(ctx.jobName)?.job;
    if (!queued) {
      change.deleteActor!.push({ kind: 'job', id: uuid });
      continue;
    }
    restoreRun(core, uuid, snapshot, queued, ctx.platform, undefined);
    core.waitingRuns.set(qkey(ctx.platform, ctx.jobName), uuid);
  }
  return { change, requeued };
}

function* dueTimes(schedule: Loaded['schedule']): Generator<{ name: string; at: number | null }> {
  const item = { name: '', at: null as number | null };
  for (const e of schedule) {
    if (e.paused) continue;
    item.name = e.name;
    item.at = e.next;
    yield item;
  }
}
