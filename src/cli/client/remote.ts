// The server address of a client command: -r/--remote, else BUILDER_REMOTE, else 127.0.0.1:1234.
// Host names, IPv4 literals and bracketed IPv6 literals ([::1]:1234) are accepted; the port may be left out.
import { ClientError, ClientErrorCode as E } from '../../errors/client-error.ts';
import { DEFAULT_REMOTE, parseRemote } from '../../worker/remote-address.ts';

export { DEFAULT_REMOTE };

export interface Remote {
  host: string;
  port: number;
}

export function resolveRemote(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): Remote {
  const text = flag ?? (env.BUILDER_REMOTE || undefined) ?? DEFAULT_REMOTE;
  try {
    return parseRemote(text);
  } catch (e) {
    const source = flag !== undefined ? '--remote' : 'BUILDER_REMOTE';
    throw new ClientError(E.USAGE, `${source}: ${(e as Error).message}`);
  }
}

/** 127.0.0.1:1234, [::1]:1234, builder.example:1234 */
export function remoteText(r: Remote): string {
  return r.host.includes(':') ? `[${r.host}]:${r.port}` : `${r.host}:${r.port}`;
}
