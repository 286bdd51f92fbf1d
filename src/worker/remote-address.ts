// HOST:PORT of the server as given to -r/--remote or BUILDER_REMOTE: a name, an IPv4 literal or a bracketed IPv6
// literal ([::1]:1234); the port may be left out.
import { WorkerError, WorkerErrorCode as E } from '../errors/worker-error.ts';

export const DEFAULT_REMOTE = '127.0.0.1:1234';
const DEFAULT_PORT = 1234;

export function parseRemote(text: string): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  let host: string;
  let port: string | undefined;
  if (bracketed) {
    host = bracketed[1]!;
    port = bracketed[2];
  } else {
    const colons = text.split(':').length - 1;
    if (colons > 1) throw new WorkerError(E.USAGE, `remote ${JSON.stringify(text)}: write an IPv6 address in brackets, as [::1]:1234`);
    [host, port] = colons === 1 ? (text.split(':') as [string, string]) : [text, undefined];
  }
  if (!host || !/^[A-Za-z0-9._:%-]+$/.test(host)) throw new WorkerError(E.USAGE, `remote ${JSON.stringify(text)}: bad host`);
  const number = port === undefined ? DEFAULT_PORT : Number(port);
  if (port !== undefined && !/^\d+$/.test(port)) throw new WorkerError(E.USAGE, `remote ${JSON.stringify(text)}: bad port`);
  if (!Number.isInteger(number) || number < 1 || number > 65535) throw new WorkerError(E.USAGE, `remote ${JSON.stringify(text)}: port out of range`);
  return { host, port: number };
}
