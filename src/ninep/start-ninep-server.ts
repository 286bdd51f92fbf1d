// The entry the builder server calls: jobd's name space over its JobsBackend, served over TCP.
import { NinepServer, type NinepServerOptions } from './ninep-server.ts';
import { jobdNamespace } from './jobd-namespace.ts';
import type { JobsBackend } from './jobs-backend.ts';
import type { Clock } from '../scheduler/clock.ts';
import { BuilderError } from '../errors/builder-error.ts';

export const DEFAULT_NINEP_HOST = '127.0.0.1';
export const DEFAULT_NINEP_PORT = 5640;

export interface StartNinepServerOptions {
  host?: string;
  port?: number;
  backend: JobsBackend;
  clock?: Clock;
  log?: (line: string) => void;
  maxMsize?: number;
  trace?: NinepServerOptions['trace'];
}

export interface RunningNinepServer {
  address: { host: string; port: number };
  close(): Promise<void>;
}

export async function startNinepServer(opts: StartNinepServerOptions): Promise<RunningNinepServer> {
  const server = new NinepServer({
    root: jobdNamespace(opts.backend),
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.log ? { log: opts.log } : {}),
    ...(opts.maxMsize ? { maxMsize: opts.maxMsize } : {}),
    ...(opts.trace ? { trace: opts.trace } : {}),
  });
  const address = await server.listen(opts.host ?? DEFAULT_NINEP_HOST, opts.port ?? DEFAULT_NINEP_PORT);
  opts.log?.(`9p: serving jobd's name space on ${address.host}:${address.port}`);
  return { address, close: () => server.close() };
}

/** Parses `--9p ADDR`: "HOST:PORT", ":PORT", "PORT" or "[v6]:PORT". */
export function parseNinepAddress(s: string): { host: string; port: number } {
  const t = s.trim();
  const colon = t.lastIndexOf(':');
  let host = colon < 0 ? '' : t.slice(0, colon);
  const portText = colon < 0 ? t : t.slice(colon + 1);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = /^\d+$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 0 && port <= 65535) || host.includes(' ')) {
    throw new BuilderError('ERR_NINEP_BAD_ADDRESS', `bad 9P address "${s}": expected HOST:PORT`);
  }
  return { host: host || DEFAULT_NINEP_HOST, port };
}
