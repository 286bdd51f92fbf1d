// A run's start: its job-run actor (new, or the requeued one of the same job), its record while a
// worker has it, and the deadline armed for it.
import { createActor } from 'xstate';
import { jobRunMachine } from '../../machines/job-run.ts';
import type { Job, ScriptJob } from '../protocol/types.ts';
import { uuidFromString, uuidToString } from '../protocol/uuid.ts';
import { newRunUuid } from './run-uuid.ts';
import type { Change, RunningRecord } from './persistence.ts';
import { timedOut } from './run-completion.ts';
import { qkey, type Assignment, type Run, type SupervisorCore, type WorkerHandle } from './supervisor-core.ts';

export function watchRun(core: SupervisorCore, run: Run): void {
  run.actor.subscribe((s) => {
    core.bus.emit('actor:transition', { kind: 'job', id: run.uuid, state: String(s.value), at: core.now() });
  });
}

/** A run read back at start: from its persisted snapshot when there is one. */
export function restoreRun(core: SupervisorCore, uuid: string, snapshot: unknown, queued: Job, platform: string, startedAt: number | undefined): Run {
  const valid = snapshot && typeof snapshot === 'object' && 'context' in snapshot;
  const actor = valid
    ? createActor(jobRunMachine, { snapshot, inspect: core.opts.inspect } as any)
    : createActor(jobRunMachine, {
        input: { uuid, jobName: queued.name, platform, queuedAt: startedAt ?? core.now(), timeoutMs: core.timeoutMs(queued.name) },
        inspect: core.opts.inspect,
      });
  actor.start();
  const run: Run = { uuid, uuidBytes: uuidFromString(uuid), actor, queued, console: core.newConsole() };
  watchRun(core, run);
  core.runs.set(uuid, run);
  return run;
}

export function assign(core: SupervisorCore, worker: WorkerHandle, platform: string, queued: Job, job: ScriptJob, change: Change): Assignment {
  const now = core.now();
  const key = qkey(platform, queued.name);
  let run = core.runs.get(core.waitingRuns.get(key) ?? '');
  core.waitingRuns.delete(key);
  if (run) {
    run.console.reset();
    run.queued = queued;
  } else {
    const bytes = newRunUuid();
    const uuid = uuidToString(bytes);
    const actor = createActor(jobRunMachine, {
      input: { uuid, jobName: queued.name, platform, queuedAt: now, timeoutMs: core.timeoutMs(queued.name) },
      inspect: core.opts.inspect,
    });
    run = { uuid, uuidBytes: bytes, actor, queued, console: core.newConsole() };
    watchRun(core, run);
    core.runs.set(uuid, run);
    actor.start();
  }
  run.job = job;
  run.worker = worker;
  core.active.add(key);
  run.actor.send({ type: 'ASSIGN', workerId: worker.id, at: now });
  const ctx = run.actor.getSnapshot().context;
  const record: RunningRecord = {
    uuid: run.uuid,
    jobName: queued.name,
    platform,
    job,
    queued,
    startedAt: now,
    deadline: ctx.deadline!,
    workerId: worker.id,
  };
  (change.putRunning ??= []).push(record);
  (change.putActor ??= []).push({ kind: 'job', id: run.uuid, snapshot: run.actor.getPersistedSnapshot() });
  armDeadline(core, run);
  core.workers.get(worker.id)?.send({ type: 'ASSIGN', uuid: run.uuid, at: now });
  core.bus.emit('job:assigned', { uuid: run.uuid, name: queued.name, platform, workerId: worker.id });
  return { uuid: run.uuidBytes, job };
}

export function armDeadline(core: SupervisorCore, run: Run): void {
  const deadline = run.actor.getSnapshot().context.deadline;
  if (deadline === undefined) return;
  if (run.timer) core.clock.clearTimeout(run.timer);
  run.timer = core.clock.setTimeout(() => {
    run.timer = undefined;
    timedOut(core, run).catch((e) => core.bus.log('error', 'timeout handling failed', { uuid: run.uuid, error: String(e) }));
  }, Math.max(0, deadline - core.now()));
}
