// A worker's conversation: JobRequested(platform) → (wait) → JobSchedule → Output* → JobFinished.
import type { CmdSocket } from '../protocol/cmd-socket.ts';
import { nextWithin } from './client-conversation.ts';
import { uuidToString } from '../protocol/uuid.ts';
import type { Supervisor, WorkerHandle } from './supervisor.ts';

export async function workerConversation(sock: CmdSocket, sup: Supervisor, id: string, firstCommandTimeoutMs?: number): Promise<void> {
  // Ending a job (its timeout): Failure(reason) first, so that a worker reading it can say the server ended the job
  // rather than that the connection broke (the original worker does not read during a job and sees the close).
  const handle: WorkerHandle = {
    id,
    remote: sock.remote,
    close: (reason) => {
      void sock
        .send({ type: 'failure', message: reason })
        .then(() => sock.close())
        .catch(() => undefined)
        .finally(() => setTimeout(() => sock.destroy(reason), 2000).unref());
    },
  };
  sup.workerConnected(handle);
  let reason = 'connection closed';
  try {
    const first = await nextWithin(sock, firstCommandTimeoutMs, 'no JobRequested in time after the hello');
    if (first === null) return;
    if (first.type !== 'job-requested') {
      reason = `expected JobRequested, got ${first.type}`;
      sock.destroy(reason);
      return;
    }
    const gone = sock.closed.then(() => null);
    const assignment = await Promise.race([sup.requestJob(handle, first.platform), gone]);
    if (assignment === null) {
      reason = 'connection closed while waiting for a job';
      return;
    }
    const uuid = uuidToString(assignment.uuid);
    await sock.send({ type: 'job-schedule', uuid: assignment.uuid, job: assignment.job });
    sup.started(uuid);
    for (;;) {
      const cmd = await sock.next();
      if (cmd === null) {
        reason = 'connection closed before JobFinished';
        return;
      }
      if (cmd.type === 'output') {
        // As the original: a line for another uuid is logged and counted for the assigned job.
        if (uuidToString(cmd.uuid) !== uuid) sup.bus.log('warn', 'output for another uuid', { expected: uuid, got: uuidToString(cmd.uuid) });
        sup.output(uuid, cmd.line);
      } else if (cmd.type === 'job-finished') {
        if (uuidToString(cmd.uuid) !== uuid) sup.bus.log('warn', 'job finished for another uuid', { expected: uuid, got: uuidToString(cmd.uuid) });
        await sup.finished(uuid, cmd.result, cmd.files);
        reason = 'job finished';
        return;
      } else {
        reason = `expected Output or JobFinished, got ${cmd.type}`;
        sock.destroy(reason);
        return;
      }
    }
  } catch (e) {
    reason = (e as Error).message;
  } finally {
    sup.workerGone(handle, reason);
    if (!sock.socket.destroyed) await sock.close().catch(() => {});
  }
}
