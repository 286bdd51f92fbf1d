// A run's end: finished (result file, then history), timed out, requeued when its worker is lost,
// or dropped when its job was unscheduled meanwhile.
import { rm } from 'node:fs/promises';
import { createActor } from 'xstate';
import { jobRunMachine } from '../../machines/job-run.ts';
import type { Exec, File, Job, Result } from '../protocol/types.ts';
import { encodeExec } from '../protocol/exec-codec.ts';
import { ppResult as resultText } from '../protocol/pretty.ts';
import { diskFullError } from './disk-full.ts';
import type { Change, OutboxEntry, ScheduleEntry } from './persistence.ts';
import { dispatch, findQueue, queueBack, queueFront } from './platform-queues.ts';
import { resultPath, writeDurably } from './result-file.ts';
import { storedResult } from './stored-result.ts';
import { watchRun } from './run-assignment.ts';
import { isEmpty, qkey, type JobRunActor, type Run, type SupervisorCore } from './supervisor-core.ts';
import { workerFinished } from './worker-events.ts';

export async function timedOut(core: SupervisorCore, run: Run): Promise<void> {
  const s = core.stateOf(run);
  if (s !== 'assigned' && s !== 'running') return;
  core.bus.emit('job:timeout', { uuid: run.uuid, name: run.queued.name });
  run.worker?.close('job timed out');
  await complete(core, run, { type: 'msg', message: 'timeout' }, [], 'TIMEOUT');
}

export function requeue(core: SupervisorCore, run: Run, reason: string): void {
  const c = run.actor.getSnapshot().context;
  if (run.timer) core.clock.clearTimeout(run.timer);
  run.timer = undefined;
  run.worker = undefined;
  run.actor.send({ type: 'REQUEUE', at: core.now(), reason });
  core.active.delete(qkey(c.platform, c.jobName));
  const change: Change = { deleteRunning: [run.uuid], queue: [] };
  if (core.schedule.has(c.jobName) && !core.dropped.has(c.platform)) {
    run.console.append({ deltaNs: 0n, line: new TextEncoder().encode(`builder: ${reason}; the job is queued again`) });
    core.waitingRuns.set(qkey(c.platform, c.jobName), run.uuid);
    change.putActor = [{ kind: 'job', id: run.uuid, snapshot: run.actor.getPersistedSnapshot() }];
    queueFront(core, c.platform, run.queued, change);
    core.bus.emit('job:requeued', { uuid: run.uuid, name: c.jobName, platform: c.platform, reason });
  } else {
    finishUnscheduled(core, run, change);
  }
  core.persistLater(change);
}

export function finishUnscheduled(core: SupervisorCore, run: Run, change: Change): void {
  run.actor.send({ type: 'FAIL', at: core.now(), reason: 'job unscheduled before it could run again' });
  run.console.end(0n, 'execution aborted: job unscheduled');
  (change.deleteActor ??= []).push({ kind: 'job', id: run.uuid });
  core.runs.delete(run.uuid);
  run.actor.stop();
}

/**
 * Writes the result file and the history entry, then the run is done (or timed out). The memory
 * changes of a run's end (its schedule entry, its queue) are undone when the history entry cannot be
 * saved (a full disk): the store still has the run with its worker, which a restart queues again, and
 * memory does the same at once; the run goes again once a worker takes it (space back or not).
 */
export async function complete(core: SupervisorCore, run: Run, result: Result, files: File[], how: 'FINISH' | 'TIMEOUT'): Promise<void> {
  const now = core.now();
  if (run.timer) core.clock.clearTimeout(run.timer);
  run.timer = undefined;
  // the run as the store has it, to put it back if its end cannot be saved (persisted only then)
  const before = run.actor.getSnapshot();
  const kept = storedResult(result);
  const text = resultText(kept);
  if (how === 'FINISH') run.actor.send({ type: 'FINISH', at: now, result: text });
  else run.actor.send({ type: 'TIMEOUT', at: now });
  const c = run.actor.getSnapshot().context;
  const held = run.console.held();
  const exec: Exec = {
    job: run.job!,
    uuid: run.uuidBytes,
    console: held.map((l) => ({ delta: l.deltaNs, line: l.line })).reverse(),
    started: new Date(c.assignedAt ?? now),
    finished: new Date(now),
    result,
    files,
  };
  const bytes = encodeExec(exec);
  const file = resultPath(core.opts.dir, c.jobName, run.uuid);
  // Lazy: the worker has gone on to its next job, whose assignment (sent right after the JobFinished) usually
  // shares this commit's disk sync.
  const change: Change = { deleteRunning: [run.uuid], queue: [], lazy: true };
  let stored = true;
  let notWritten = 'result could not be written';
  try {
    await writeDurably(file, bytes);
  } catch (e) {
    stored = false;
    const full = diskFullError(e, core.opts.dir, 'the result file was not written');
    if (full) notWritten = `result could not be written: ${full.message}`;
    core.bus.log('error', full ? 'could not write the result file: disk full' : 'could not write the result file', { uuid: run.uuid, file, error: String(e) });
  }
  if (how === 'FINISH') {
    if (stored) run.actor.send({ type: 'STORED', at: core.now() });
    else run.actor.send({ type: 'FAIL', at: core.now(), reason: notWritten });
  }
  const done = run.actor.getSnapshot().context;
  (change.addHistory ??= []).push({
    uuid: run.uuid,
    jobName: c.jobName,
    platform: c.platform,
    startedAt: c.assignedAt ?? now,
    finishedAt: now,
    result: kept,
    resultText: text,
    ...(stored ? { resultPath: file } : {}),
    transitions: done.transitions,
  });
  (change.deleteActor ??= []).push({ kind: 'job', id: run.uuid });
  let outbox: OutboxEntry | undefined;
  if (stored && core.opts.upload) {
    outbox = { id: run.uuid, uuid: run.uuid, jobName: c.jobName, path: file, url: core.opts.upload, attempts: 0, nextAttemptAt: now };
    (change.putOutbox ??= []).push(outbox);
  }
  // Queued again (a timeout, a run owed): handed to a worker only once the change is durable.
  const entry = core.schedule.get(c.jobName);
  let updated: ScheduleEntry | undefined;
  if (how === 'TIMEOUT') {
    // As the original: a timed-out job goes to the back of its queue again.
    if (entry) queueBackOnly(core, c.platform, run.queued, change);
  } else if (entry && entry.pendingRuns > 0) {
    updated = { ...entry, pendingRuns: entry.pendingRuns - 1 };
    core.schedule.set(entry.name, updated);
    (change.putSchedule ??= []).push(updated);
    queueBackOnly(core, c.platform, run.queued, change);
  }
  change.undo = [
    () => {
      if (updated && entry && core.schedule.get(entry.name) === updated) core.schedule.set(entry.name, entry);
      for (const p of change.createQueue ?? []) core.queues.delete(p);
      for (const op of change.queue ?? []) if (op.op === 'push-back' && op.job.name === c.jobName) core.queues.get(op.platform)?.remove(c.jobName);
    },
  ];
  if (run.worker) workerFinished(core, run.worker, run.uuid);
  try {
    await core.commit(change);
  } catch (e) {
    await endNotSaved(core, run, before, e, stored ? file : undefined);
    return;
  }
  // Only now, with the history entry durable, does the run leave the active ones: it is never missing from both.
  core.active.delete(qkey(c.platform, c.jobName));
  const endDelta = BigInt(Math.max(0, Math.round((now - (c.assignedAt ?? now)) * 1e6)));
  run.console.end(endDelta, text);
  core.runs.delete(run.uuid);
  run.actor.stop();
  const handOut: Change = { queue: [] };
  dispatch(core, c.platform, handOut);
  if (!isEmpty(handOut)) core.persistLater(handOut);
  core.bus.emit('job:finished', { uuid: run.uuid, name: c.jobName, platform: c.platform, result: text, ...(stored ? { path: file } : {}) });
  if (stored && core.resultListeners.length > 0) {
    const told = tellListeners(core, exec, bytes, file, run.uuid);
    core.listenersInFlight.add(told);
    await told.finally(() => core.listenersInFlight.delete(told));
  }
  if (outbox) core.opts.onOutbox?.(outbox);
}

async function tellListeners(core: SupervisorCore, exec: Exec, bytes: Uint8Array, file: string, uuid: string): Promise<void> {
  for (const listener of core.resultListeners) {
    try {
      await listener(exec, bytes, file);
    } catch (e) {
      core.bus.log('error', 'a result listener failed', { uuid, error: String(e) });
    }
  }
}

function queueBackOnly(core: SupervisorCore, platform: string, job: Job, change: Change): void {
  if (job.type === 'orb-build' || findQueue(core, platform, change)) queueBack(core, platform, job, change);
}

/**
 * A run's end could not be saved: the store still has it with its worker (a restart would queue it
 * again at the front, same uuid), so memory does the same now. Its result file, which nothing refers to, goes.
 */
async function endNotSaved(core: SupervisorCore, run: Run, before: ReturnType<JobRunActor['getSnapshot']>, e: unknown, file: string | undefined): Promise<void> {
  const full = diskFullError(e, core.opts.dir, "the run's end was not saved");
  const why = full ? full.message : `the run's end was not saved: ${String(e)}`;
  core.bus.log('error', `${why}; the job is queued again`, { uuid: run.uuid, name: run.queued.name });
  if (file) await rm(file, { force: true }).catch(() => undefined);
  run.actor.stop();
  run.actor = createActor(jobRunMachine, { snapshot: jobRunMachine.getPersistedSnapshot(before), inspect: core.opts.inspect } as any);
  run.actor.start();
  watchRun(core, run);
  requeue(core, run, why);
}
