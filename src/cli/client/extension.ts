// How the client learns that a server does not know our protocol extensions (Cmd [23]..[27]): it sends
// the extension, and an original builder-server answers a command it cannot decode with
// Failure "Type mismatch: expected: (Constructed CONTEXT 22) got: (Constructed CONTEXT <our tag>)"
// (its ASN.1 decoder's error). An older one may close the connection instead. Neither reply can come
// from our server, so either one means "not supported". See docs/PROTOCOL-EXTENSIONS.md.
import { ClientError, ClientErrorCode as E } from '../../errors/client-error.ts';
import type { Cmd, CmdOf, CmdType } from '../../protocol/types.ts';
import { remoteText, type Remote } from './remote.ts';
import { call } from './session.ts';

const TAGS: Partial<Record<CmdType, number>> = { 'schedule-extended': 23, history: 24, 'info-extended': 26 };

const DECODE_FAILURE = /^Type mismatch: .*got: \(Constructed CONTEXT (\d+)\)/;

/** Servers (host:port) seen refusing an extension in this process: a poll loop asks them once. */
const refused = new Set<string>();

export function knownUnsupported(remote: Remote): boolean {
  return refused.has(remoteText(remote));
}

function isRefusal(e: unknown, tag: number): boolean {
  if (!(e instanceof ClientError)) return false;
  if (e.code === E.FAILURE) {
    const m = DECODE_FAILURE.exec(e.message);
    return m !== null && Number(m[1]) === tag;
  }
  // the server read the hello (ServerHello came) and then hung up on the command
  return e.code === E.CONNECTION_LOST && / during /.test(e.message);
}

/**
 * Sends an extension command as `call` does. When the server does not know it, throws
 * ERR_CLIENT_UNSUPPORTED: "the server at X does not support FEATURE (an original builder-server?); INSTEAD".
 */
export async function callExtension<T extends CmdType>(remote: Remote, cmd: Cmd, data: T | undefined, feature: string, instead: string): Promise<CmdOf<T> | undefined> {
  const tag = TAGS[cmd.type];
  if (tag === undefined) throw new Error(`${cmd.type} is not an extension`);
  if (knownUnsupported(remote)) throw unsupported(remote, feature, instead);
  try {
    return await call(remote, cmd, data);
  } catch (e) {
    if (!isRefusal(e, tag)) throw e;
    refused.add(remoteText(remote));
    throw unsupported(remote, feature, instead);
  }
}

function unsupported(remote: Remote, feature: string, instead: string): ClientError {
  return new ClientError(E.UNSUPPORTED, `the server at ${remoteText(remote)} does not support ${feature} (an original builder-server?)${instead ? `; ${instead}` : ''}`);
}
