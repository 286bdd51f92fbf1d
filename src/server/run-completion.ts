// A run's end: finished (result file, then history), timed out, requeued when its worker is lost,
// or dropped when its job was unscheduled meanwhile.
import type { Exec, File, Result } from '../protocol/types.ts';
import { encodeExec } from '../protocol/exec-codec.ts';
import { ppResult as resultText } from '../protocol/pretty.ts';
import type { Change, OutboxEntry } from './persistence.ts';
import { dispatch, queueBackAndDispatch, queueFront } from './platform-queues.ts';
import { resultPath, writeDurably } from './result-file.ts';
import { qkey, type Run, type SupervisorCore } from './supervisor-core.ts';
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

/** Writes the result file and the history entry, then the run is done (or timed out). */
export async function complete(core: SupervisorCore, run: Run, result: Result, files: File[], how: 'FINISH' | 'TIMEOUT'): Promise<void> {
  const now = core.now();
  if (run.timer) core.clock.clearTimeout(run.timer);
  run.timer = undefined;
  const text = resultText(result);
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
  const change: Change = { deleteRunning: [run.uuid], queue: [] };
  let stored = true;
  try {
    await writeDurably(file, bytes);
  } catch (e) {
    stored = false;
    core.bus.log('error', 'could not write the result file', { uuid: run.uuid, file, error: String(e) });
  }
  if (how === 'FINISH') {
    if (stored) run.actor.send({ type: 'STORED', at: core.now() });
    else run.actor.send({ type: 'FAIL', at: core.now(), reason: 'result could not be written' });
  }
  const done = run.actor.getSnapshot().context;
  (change.addHistory ??= []).push({
    uuid: run.uuid,
    jobName: c.jobName,
    platform: c.platform,
    startedAt: c.assignedAt ?? now,
    finishedAt: now,
    result,
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
  const entry = core.schedule.get(c.jobName);
  if (how === 'TIMEOUT') {
    // As the original: a timed-out job goes to the back of its queue again.
    if (entry) queueBackAndDispatch(core, c.platform, run.queued, change);
  } else if (entry && entry.pendingRuns > 0) {
    const updated = { ...entry, pendingRuns: entry.pendingRuns - 1 };
    core.schedule.set(entry.name, updated);
    (change.putSchedule ??= []).push(updated);
    queueBackAndDispatch(core, c.platform, run.queued, change);
  }
  core.active.delete(qkey(c.platform, c.jobName));
  dispatch(core, c.platform, change);
  const endDelta = BigInt(Math.max(0, Math.round((now - (c.assignedAt ?? now)) * 1e6)));
  run.console.end(endDelta, text);
  if (run.worker) workerFinished(core, run.worker);
  await core.commit(change);
  // Only now, with the history entry durable, does the run leave the active ones: it is never missing from both.
  core.runs.delete(run.uuid);
  run.actor.stop();
  core.bus.emit('job:finished', { uuid: run.uuid, name: c.jobName, platform: c.platform, result: text, ...(stored ? { path: file } : {}) });
  if (stored) {
    for (const listener of core.resultListeners) {
      try {
        await listener(exec, bytes, file);
      } catch (e) {
        core.bus.log('error', 'a result listener failed', { uuid: run.uuid, error: String(e) });
      }
    }
  }
  if (outbox) core.opts.onOutbox?.(outbox);
}
