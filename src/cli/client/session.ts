// One client conversation with the server: connect, ClientHello(client, 13) → ServerHello, one command,
// then the replies up to Success or Failure. Every failure becomes a ClientError with one readable line.
// The hello and the command leave in one write, without waiting for ServerHello: the server (ours or
// the original) reads them in order from the stream, and one round trip is saved. A server that
// refuses the hello closes the connection, and the command is never read.
import { ClientError, ClientErrorCode as E } from '../../errors/client-error.ts';
import type { CmdSocket } from '../../protocol/cmd-socket.ts';
import { connect } from '../../protocol/connect.ts';
import { ProtocolError } from '../../errors/protocol-error.ts';
import { notBuilderText, watchFirstBytes } from '../../protocol/not-builder.ts';
import { CLIENT_VERSION, type Cmd, type CmdOf, type CmdType } from '../../protocol/types.ts';
import { remoteText, type Remote } from './remote.ts';

const CONNECT_TIMEOUT_MS = 10_000;

const causes: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is the server running?)',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be resolved',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  ECONNRESET: 'connection reset',
};

function causeText(err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code && causes[code]) return causes[code];
  return (err as Error).message ?? String(err);
}

/** Connects, sends the hello and `command`, and returns once ServerHello came back. */
export async function openSession(remote: Remote, command: Cmd): Promise<CmdSocket> {
  const where = remoteText(remote);
  let sock: CmdSocket;
  try {
    sock = await connect(remote.host, remote.port, { log: () => {} }, CONNECT_TIMEOUT_MS);
  } catch (e) {
    throw new ClientError(E.UNREACHABLE, `cannot reach the builder server at ${where}: ${causeText(e)}`, { cause: e });
  }
  // the first bytes the server sends, to name what answered when it is not the builder protocol
  const first = watchFirstBytes(sock);
  try {
    await sock.sendBatch([{ type: 'client-hello', kind: 'client', version: CLIENT_VERSION }, command]);
    // a server that refuses the hello closes with our command unread, which may reach us as a reset
    const hello = await sock.next().catch((e: unknown) => {
      if (hasCode(e, 'ECONNRESET')) return null;
      if (e instanceof ProtocolError) throw new ClientError(E.NOT_BUILDER, notBuilderText(where, first()));
      throw e;
    });
    if (hello === null) throw new ClientError(E.CONNECTION_LOST, `the server at ${where} closed the connection after the hello (another protocol version?)`);
    if (hello.type !== 'server-hello') throw new ClientError(E.UNEXPECTED_REPLY, `the server at ${where} answered the hello with ${hello.type}`);
    return sock;
  } catch (e) {
    sock.destroy();
    throw lost(e, where);
  }
}

function hasCode(e: unknown, code: string): boolean {
  for (let x: unknown = e; x; x = (x as { cause?: unknown }).cause) if ((x as { code?: string }).code === code) return true;
  return false;
}

/** Any error while talking: a ClientError stays, anything else is a lost connection. */
export function lost(e: unknown, where: string): ClientError {
  if (e instanceof ClientError) return e;
  return new ClientError(E.CONNECTION_LOST, `connection to the builder server at ${where} lost: ${causeText(e)}`, { cause: e });
}

/** The next reply, or a ClientError when the connection ended or the server sent Failure. */
export async function nextReply(sock: CmdSocket, where: string, during: string): Promise<Cmd> {
  let reply: Cmd | null;
  try {
    reply = await sock.next();
  } catch (e) {
    throw lost(e, where);
  }
  if (reply === null) throw new ClientError(E.CONNECTION_LOST, `the server at ${where} closed the connection during ${during} without an answer`);
  if (reply.type === 'failure') throw new ClientError(E.FAILURE, reply.message);
  return reply;
}

/**
 * Sends one command and waits for Success; with `data`, first the reply of that type (InfoReply,
 * HistoryReply, ...), which is returned.
 */
export async function call<T extends CmdType>(remote: Remote, cmd: Cmd, data?: T): Promise<CmdOf<T> | undefined> {
  const where = remoteText(remote);
  const sock = await openSession(remote, cmd);
  try {
    let result: CmdOf<T> | undefined;
    if (data !== undefined) {
      const reply = await nextReply(sock, where, cmd.type);
      if (reply.type !== data) throw new ClientError(E.UNEXPECTED_REPLY, `the server at ${where} answered ${cmd.type} with ${reply.type}, expected ${data}`);
      result = reply as CmdOf<T>;
    }
    const end = await nextReply(sock, where, cmd.type);
    if (end.type !== 'success') throw new ClientError(E.UNEXPECTED_REPLY, `the server at ${where} answered ${cmd.type} with ${end.type}, expected success`);
    return result;
  } finally {
    sock.destroy();
  }
}
