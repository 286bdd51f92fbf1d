// A worker's conversation: JobRequested(platform) → (wait) → JobSchedule → Output* → JobFinished, then the end, as
// the original's. Ours sends its next JobRequested in the same write as the JobFinished: found received with it,
// it is answered on this connection and the conversation goes round again (docs/PROTOCOL-EXTENSIONS.md).
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
  // Runs' ends still being recorded: the next job is asked for meanwhile, and the connection's end waits for them
  // (a run whose end is being written is not its worker's to requeue).
  const ending = new Set<Promise<void>>();
  try {
    let request = await nextWithin(sock, firstCommandTimeoutMs, 'no JobRequested in time after the hello');
    const gone = sock.closed.then(() => null);
    for (;;) {
      if (request === null) return;
      if (request.type !== 'job-requested') {
        reason = `expected JobRequested, got ${request.type}`;
        sock.destroy(reason);
        return;
      }
      const assignment = await Promise.race([sup.requestJob(handle, request.platform), gone]);
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
          const end = sup.finished(uuid, cmd.result, cmd.files).catch((e) => sup.bus.log('error', 'recording a run\'s end failed', { uuid, error: String(e) }));
          ending.add(end);
          void end.finally(() => ending.delete(end));
          reason = 'job finished';
          break;
        } else {
          reason = `expected Output or JobFinished, got ${cmd.type}`;
          sock.destroy(reason);
          return;
        }
      }
      // nothing received with the JobFinished (the original worker): the conversation ends as the original's does
      if (sock.queued === 0) return;
      request = await sock.next();
    }
  } catch (e) {
    reason = (e as Error).message;
  } finally {
    await Promise.all(ending);
    sup.workerGone(handle, reason);
    if (!sock.socket.destroyed) await sock.close().catch(() => {});
  }
}
