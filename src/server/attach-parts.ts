// Starts the web frontend and the 9P file system beside the builder server, sharing its store.
import { asListenError } from '../errors/listen-error.ts';
import type { RunningServer } from './builder-server.ts';
import { jobsBackendOf } from './jobs-backend-adapter.ts';
import { liveStateOf } from './live-state-adapter.ts';

export interface PartsOptions {
  web?: { host: string; port: number };
  ninep?: { host: string; port: number };
  ninepPlatform?: string;
  configDir?: string;
  maxUploadBytes?: number;
}

export interface AttachedParts {
  web?: { host: string; port: number; url: string };
  ninep?: { host: string; port: number };
  close(): Promise<void>;
}

export async function attachParts(server: RunningServer, opts: PartsOptions): Promise<AttachedParts> {
  const closers: (() => Promise<void>)[] = [];
  const parts: AttachedParts = {
    async close() {
      for (const c of closers.reverse()) await c().catch(() => {});
    },
  };
  const root = server.persistence.root;
  const log = (line: string) => server.bus.log('info', line);
  try {
    if (opts.web) {
      const { startWebServer } = await import('../web/web-server.ts');
      const { recordBuild } = await import('../web/record-build.ts');
      const web = await startWebServer({
        host: opts.web.host,
        port: opts.web.port,
        dataDir: server.dir,
        root,
        live: liveStateOf(server.supervisor),
        ...(opts.configDir ? { configDir: opts.configDir } : {}),
        ...(opts.maxUploadBytes ? { maxUploadBytes: opts.maxUploadBytes } : {}),
        clock: server.supervisor.clock,
        log,
      }).catch((e) => {
        throw asListenError(e, 'web address', opts.web!.host, opts.web!.port, '--web ADDR or turn it off with --no-web');
      });
      closers.push(() => web.close());
      parts.web = web.address;
      server.supervisor.resultListeners.push(async (exec) => {
        await recordBuild(exec, { root, dataDir: server.dir, ...(opts.configDir ? { configDir: opts.configDir } : {}), log });
      });
      server.bus.log('info', `web frontend on ${web.address.url}`);
    }
    if (opts.ninep) {
      const { startNinepServer } = await import('../ninep/start-ninep-server.ts');
      const ninep = await startNinepServer({
        host: opts.ninep.host,
        port: opts.ninep.port,
        backend: jobsBackendOf(server.supervisor, opts.ninepPlatform ? { defaultPlatform: opts.ninepPlatform } : {}),
        clock: server.supervisor.clock,
        log,
      }).catch((e) => {
        throw asListenError(e, '9P address', opts.ninep!.host, opts.ninep!.port, '--9p ADDR or turn it off with --no-9p');
      });
      closers.push(() => ninep.close());
      parts.ninep = ninep.address;
    }
  } catch (e) {
    await parts.close();
    throw e;
  }
  return parts;
}
