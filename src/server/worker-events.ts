// What worker connections tell the supervisor: hello, a request for a job, the job's start, its
// output, its end, and the connection's end.
import { createActor } from 'xstate';
import { workerConnectionMachine } from '../../machines/worker-connection.ts';
import type { File, Result } from '../protocol/types.ts';
import { artifactPathProblem } from './artifact-path.ts';
import type { Change } from './persistence.ts';
import { dispatch } from './platform-queues.ts';
import { complete, requeue } from './run-completion.ts';
import { isEmpty, type Assignment, type SupervisorCore, type WorkerHandle } from './supervisor-core.ts';

export function workerConnected(core: SupervisorCore, worker: WorkerHandle): void {
  const actor = createActor(workerConnectionMachine, {
    input: { id: worker.id, remote: worker.remote, connectedAt: core.now() },
    inspect: core.opts.inspect,
  });
  actor.subscribe((s) => {
    core.bus.emit('actor:transition', { kind: 'worker', id: worker.id, state: String(s.value), at: core.now() });
    // Not recovered from (recovery deletes every worker's snapshot): written with the next commit (persistDeferred).
    if (s.status === 'done') {
      core.workers.delete(worker.id);
      core.persistDeferred(`worker:${worker.id}`, () => ({ deleteActor: [{ kind: 'worker', id: worker.id }] }));
    } else {
      core.persistDeferred(`worker:${worker.id}`, () => ({ putActor: [{ kind: 'worker', id: worker.id, snapshot: actor.getPersistedSnapshot() }] }));
    }
  });
  core.workers.set(worker.id, actor);
  actor.start();
  actor.send({ type: 'HELLO', at: core.now() });
}

/** Resolves with a job for the platform, now or when one is queued. */
export function requestJob(core: SupervisorCore, worker: WorkerHandle, platform: string): Promise<Assignment> {
  core.workers.get(worker.id)?.send({ type: 'REQUEST', platform, at: core.now() });
  core.bus.emit('worker:waiting', { workerId: worker.id, platform });
  return new Promise<Assignment>((resolve) => {
    const list = core.waiters.get(platform) ?? [];
    list.push({ worker, platform, resolve });
    core.waiters.set(platform, list);
    const change: Change = { queue: [] };
    dispatch(core, platform, change);
    if (!isEmpty(change)) core.persistLater(change);
  });
}

/** Called once the JobSchedule reached the worker's socket. */
export function started(core: SupervisorCore, uuid: string): void {
  const run = core.runs.get(uuid);
  if (!run || core.stateOf(run) !== 'assigned') return;
  run.actor.send({ type: 'START', at: core.now() });
  // Recovery requeues a started run as it does an assigned one: written with the next commit (persistDeferred).
  core.persistDeferred(`job:${uuid}`, () => ({ putActor: [{ kind: 'job', id: uuid, snapshot: run.actor.getPersistedSnapshot() }] }));
  core.bus.emit('job:started', { uuid, name: run.queued.name });
}

export function output(core: SupervisorCore, uuid: string, line: Uint8Array): void {
  const run = core.runs.get(uuid);
  if (!run) return;
  const s = core.stateOf(run);
  if (s !== 'running' && s !== 'assigned') return;
  const c = run.actor.getSnapshot().context;
  const deltaNs = BigInt(Math.max(0, Math.round((core.now() - (c.assignedAt ?? core.now())) * 1e6)));
  run.console.append({ deltaNs, line });
  core.bus.emit('job:output', { uuid, line, deltaNs });
}

/** The worker's JobFinished: the result is written durably before the run is done. */
export async function finished(core: SupervisorCore, uuid: string, result: Result, files: File[]): Promise<void> {
  const run = core.runs.get(uuid);
  if (!run || !['assigned', 'running'].includes(core.stateOf(run))) {
    core.bus.log('warn', 'job finished for a uuid that is not running', { uuid });
    return;
  }
  const refused = files.map((f) => ({ f, why: artifactPathProblem(f.path) })).find((x) => x.why);
  if (refused) {
    result = { type: 'msg', message: `artifact path refused (${refused.why}): ${JSON.stringify(refused.f.path)}` };
    files = [];
  }
  await complete(core, run, result, files, 'FINISH');
}

/** The worker's connection ended: a run not finished goes back to its queue. */
export function workerGone(core: SupervisorCore, worker: WorkerHandle, reason: string): void {
  const actor = core.workers.get(worker.id);
  actor?.send({ type: 'CLOSE', at: core.now(), reason });
  for (const [platform, list] of core.waiters) {
    const rest = list.filter((w) => w.worker.id !== worker.id);
    if (rest.length === 0) core.waiters.delete(platform);
    else core.waiters.set(platform, rest);
  }
  for (const run of core.runs.values()) {
    if (run.worker?.id !== worker.id) continue;
    const s = core.stateOf(run);
    if (s === 'assigned' || s === 'running') requeue(core, run, core.phase() === 'stopping' ? 'server stopped' : `worker lost: ${reason}`);
  }
  core.bus.emit('worker:closed', { workerId: worker.id, reason });
}

export function workerFinished(core: SupervisorCore, worker: WorkerHandle, uuid: string): void {
  core.workers.get(worker.id)?.send({ type: 'FINISHED', uuid, at: core.now() });
}
