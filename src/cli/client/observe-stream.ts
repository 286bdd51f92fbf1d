// Streams one run's console as the original client prints it: "<Duration.pp of the time since the start>
// <line>", the line's bytes as they are. The last line before Success is the result; on a terminal it is
// coloured (so a line that reads like a result is held back until the next message says which it is).
import { ClientError, ClientErrorCode as E } from '../../errors/client-error.ts';
import type { Cmd } from '../../protocol/types.ts';
import { uuidFromString } from '../../protocol/uuid.ts';
import type { Output } from './command.ts';
import { formatDuration } from './duration.ts';
import { remoteText, type Remote } from './remote.ts';
import { lost, openSession } from './session.ts';
import { resultStyle } from './style.ts';

const RESULT = /^(exited -?\d+|signalled -?\d+|stopped -?\d+|execution aborted: .*)$/s;

type OutputCmd = Extract<Cmd, { type: 'output' }>;

export type ObserveEnd = 'ended' | 'interrupted';

/** Resolves once the run's result went by ('ended') or the signal aborted ('interrupted'). */
export async function observeRun(remote: Remote, uuid: string, out: Output, signal?: AbortSignal): Promise<ObserveEnd> {
  const where = remoteText(remote);
  const bytes = uuidFromString(uuid);
  const sock = await openSession(remote, { type: 'observe', uuid: bytes });
  const interrupted = new Promise<'interrupted'>((resolve) => {
    if (signal?.aborted) resolve('interrupted');
    signal?.addEventListener('abort', () => resolve('interrupted'), { once: true });
  });
  let held: OutputCmd | undefined;
  const flush = (asResult: boolean) => {
    if (held) print(out, uuid, held, asResult);
    held = undefined;
  };
  try {
    for (;;) {
      const next = sock.next();
      const cmd = await Promise.race([next, interrupted]);
      if (cmd === 'interrupted') {
        next.catch(() => undefined);
        flush(false);
        return 'interrupted';
      }
      if (cmd === null) {
        flush(false);
        throw new ClientError(E.CONNECTION_LOST, `the server at ${where} closed the connection before the run ended`);
      }
      if (cmd.type === 'output') {
        flush(false);
        if (RESULT.test(Buffer.from(cmd.line).toString('latin1'))) held = cmd;
        else print(out, uuid, cmd, false);
        continue;
      }
      if (cmd.type === 'success') {
        flush(true);
        return 'ended';
      }
      flush(false);
      if (cmd.type === 'failure') throw new ClientError(E.FAILURE, cmd.message);
      throw new ClientError(E.UNEXPECTED_REPLY, `the server at ${where} sent ${cmd.type} while observing`);
    }
  } catch (e) {
    throw lost(e, where);
  } finally {
    sock.destroy();
  }
}

function print(out: Output, uuid: string, cmd: OutputCmd, isResult: boolean): void {
  const text = Buffer.from(cmd.line);
  if (out.json) {
    const ts = cmd.timestamp;
    out.printJson({
      type: isResult ? 'result' : 'line',
      uuid,
      deltaNs: ts === undefined ? null : ts.toString(),
      delta: ts === undefined ? null : formatDuration(ts),
      [isResult ? 'result' : 'line']: text.toString('utf8'),
    });
    return;
  }
  const stamp = cmd.timestamp === undefined ? '' : `${out.style.dim(formatDuration(cmd.timestamp))} `;
  const body = isResult ? Buffer.from(resultStyle(out.style, text.toString('utf8'))) : text;
  out.write(Buffer.concat([Buffer.from(stamp), body, Buffer.from('\n')]));
}

/** An AbortSignal that fires on the first SIGINT or SIGTERM (Ctrl-C); dispose removes the handlers. */
export function interruptSignal(): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: ac.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** The exit status after Ctrl-C, as a shell reports a process ended by SIGINT. */
export const INTERRUPTED_EXIT = 130;
