// A client's conversation: one command, then Success or Failure (Info and Observe send their data first).
import { BuilderError } from '../errors/builder-error.ts';
import { CommandError } from '../errors/command-error.ts';
import { ProtocolError } from '../errors/protocol-error.ts';
import type { CmdSocket } from '../protocol/cmd-socket.ts';
import type { Cmd } from '../protocol/types.ts';
import { uuidToString } from '../protocol/uuid.ts';
import { ObserveSession } from './observe-session.ts';
import type { Supervisor } from './supervisor.ts';

export interface ClientConversationOptions {
  /** console lines an observer may fall behind before the oldest are dropped */
  observerMaxQueuedLines?: number;
  /** the command must come this soon after the hello (a silent connection holds a descriptor) */
  firstCommandTimeoutMs?: number;
  /** TCP keep-alive on an observer's connection, which may wait long for output */
  keepAliveMs?: number;
}

export async function clientConversation(sock: CmdSocket, sup: Supervisor, opts: ClientConversationOptions = {}): Promise<void> {
  const cmd = await nextWithin(sock, opts.firstCommandTimeoutMs, 'no command in time after the hello');
  if (cmd === null) return;
  let reply: Cmd;
  try {
    await handle(cmd, sock, sup, opts);
    reply = { type: 'success' };
  } catch (e) {
    if (e instanceof ProtocolError && sock.socket.destroyed) return;
    else if (e instanceof BuilderError && !(e instanceof ProtocolError)) reply = { type: 'failure', message: e.message };
    else if ((e as Error).message === 'observer went away') return;
    else {
      sup.bus.log('error', 'client command failed', { command: cmd.type, error: String(e) });
      reply = { type: 'failure', message: `internal error: ${(e as Error).message}` };
    }
  }
  await sock.send(reply);
  await sock.close();
}

async function handle(cmd: Cmd, sock: CmdSocket, sup: Supervisor, opts: ClientConversationOptions): Promise<void> {
  switch (cmd.type) {
    case 'schedule':
      return sup.scheduleJob({ job: cmd.job, trigger: { type: 'period', period: cmd.period } });
    case 'schedule-orb-build':
      return sup.scheduleJob({ job: cmd.job, trigger: { type: 'period', period: cmd.period } });
    case 'schedule-extended': {
      const s = cmd.schedule;
      if (s.cron !== undefined && s.period !== undefined) throw new CommandError('ERR_BAD_SCHEDULE', 'give either a period or a cron expression, not both');
      const trigger = s.cron !== undefined ? { type: 'cron' as const, expr: s.cron, ...(s.timeZone ? { timeZone: s.timeZone } : {}) } : { type: 'period' as const, period: s.period ?? 'daily' };
      return sup.scheduleJob({
        job: s.job,
        trigger,
        ...(s.timeoutSeconds !== undefined ? { timeoutSeconds: s.timeoutSeconds } : {}),
        ...(s.catchUp ? { catchUp: s.catchUp } : {}),
      });
    }
    case 'unschedule':
      return sup.unschedule(cmd.name);
    case 'execute':
      return sup.execute(cmd.name, cmd.platform);
    case 'reschedule':
      return sup.reschedule(cmd.name, cmd.next, cmd.period);
    case 'drop-platform':
      return sup.dropPlatform(cmd.platform);
    case 'undrop-platform':
      return sup.undropPlatform(cmd.platform);
    case 'info':
      await sock.send({ type: 'info-reply', info: sup.info() });
      return;
    case 'info-extended':
      await sock.send({ type: 'info-extended-reply', json: JSON.stringify(sup.infoExtended()) });
      return;
    case 'history': {
      const runs = sup.history(cmd.name);
      // a job is known while scheduled, and after its unscheduling as long as runs of it are kept
      if (runs.length === 0 && !sup.schedule.has(cmd.name)) throw new CommandError('ERR_UNKNOWN_JOB', `unknown job ${cmd.name}`);
      await sock.send({ type: 'history-reply', json: JSON.stringify(runs) });
      return;
    }
    case 'observe': {
      // the ServerHello, if held for the reply, goes now: the first output may be long in coming
      if (opts.keepAliveMs !== undefined) sock.socket.setKeepAlive(true, opts.keepAliveMs);
      await sock.flush();
      const session = new ObserveSession(sock, cmd.uuid, opts.observerMaxQueuedLines);
      const unsubscribe = await sup.observe(uuidToString(cmd.uuid), session);
      try {
        await session.pump();
      } finally {
        unsubscribe();
      }
      return;
    }
    default:
      throw new CommandError('ERR_BAD_COMMUNICATION', 'bad communication');
  }
}

/** The next command, or the connection closed when none came within `ms`. */
export async function nextWithin(sock: CmdSocket, ms: number | undefined, reason: string): Promise<Cmd | null> {
  // already received (as when it came with the hello): no timer to arm
  if (ms === undefined || sock.queued > 0) return sock.next();
  const timer = setTimeout(() => sock.destroy(reason), ms);
  try {
    return await sock.next();
  } finally {
    clearTimeout(timer);
  }
}
