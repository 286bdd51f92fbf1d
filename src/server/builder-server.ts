// `builder server`: the store, the supervisor, the TCP listener for clients and workers, the upload
// outbox, and (when enabled) the web frontend and the 9P file system, in one process.
import { mkdir } from 'node:fs/promises';
import type { InspectionEvent } from 'xstate';
import { EventBus } from '../observability/events.ts';
import { systemClock, type Clock } from '../scheduler/clock.ts';
import { stateFileChange, type ImportReport } from './import-state.ts';
import { Outbox } from './outbox.ts';
import { openStorePersistence, type StorePersistence } from './store-persistence.ts';
import { Supervisor } from './supervisor.ts';
import { ProcessStats } from '../observability/process-stats.ts';
import { listen, type Listener } from './tcp-listener.ts';

export interface ServerOptions {
  host?: string;
  port?: number;
  dir: string;
  configDir?: string;
  upload?: string;
  clock?: Clock;
  bus?: EventBus;
  defaultTimeoutSeconds?: number;
  maxFrameBytes?: number;
  helloTimeoutMs?: number;
  observerMaxQueuedLines?: number;
  maxConnections?: number;
  maxConnectionsPerAddress?: number;
  firstCommandTimeoutMs?: number;
  consoleMaxBytes?: number;
  consoleMaxLines?: number;
  importState?: string;
  inspect?: (event: InspectionEvent) => void;
  /** extra parts started with the server and closed before it (web, 9P) */
  attach?: (server: RunningServer) => Promise<{ close(): Promise<void> } | void>;
}

export interface RunningServer {
  address: { host: string; port: number };
  supervisor: Supervisor;
  persistence: StorePersistence;
  bus: EventBus;
  outbox: Outbox;
  dir: string;
  imported?: ImportReport;
  close(): Promise<void>;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const clock = opts.clock ?? systemClock;
  const bus = opts.bus ?? new EventBus();
  await mkdir(opts.dir, { recursive: true });
  const persistence = await openStorePersistence(opts.dir);
  const defaultTimeoutSeconds = opts.defaultTimeoutSeconds ?? 3600;
  let imported: ImportReport | undefined;
  if (opts.importState) {
    const loaded = await persistence.load();
    const { change, report } = await stateFileChange(
      opts.importState,
      { schedule: new Set(loaded.schedule.map((e) => e.name)), queues: loaded.queues, dropped: new Set(loaded.dropped) },
      clock.now(),
      defaultTimeoutSeconds,
    );
    await persistence.commit(change);
    imported = report;
    bus.log('info', 'imported state file', { file: opts.importState, ...report });
  }
  const outbox = new Outbox(persistence, clock, bus);
  const stats = new ProcessStats();
  const supervisor = new Supervisor({
    stats,
    persistence,
    clock,
    bus,
    dir: opts.dir,
    configDir: opts.configDir ?? '/etc/builder',
    ...(opts.upload ? { upload: opts.upload } : {}),
    defaultTimeoutSeconds,
    ...(opts.consoleMaxBytes !== undefined ? { consoleMaxBytes: opts.consoleMaxBytes } : {}),
    ...(opts.consoleMaxLines !== undefined ? { consoleMaxLines: opts.consoleMaxLines } : {}),
    ...(opts.inspect ? { inspect: opts.inspect } : {}),
    onOutbox: (entry) => outbox.add(entry),
  });
  await supervisor.start();
  outbox.load(persistence.outbox());
  let listener: Listener;
  try {
    listener = await listen(supervisor, {
      host: opts.host ?? '127.0.0.1',
      port: opts.port ?? 1234,
      ...(opts.maxFrameBytes !== undefined ? { maxFrameBytes: opts.maxFrameBytes } : {}),
      ...(opts.helloTimeoutMs !== undefined ? { helloTimeoutMs: opts.helloTimeoutMs } : {}),
      ...(opts.observerMaxQueuedLines !== undefined ? { observerMaxQueuedLines: opts.observerMaxQueuedLines } : {}),
      ...(opts.maxConnections !== undefined ? { maxConnections: opts.maxConnections } : {}),
      ...(opts.maxConnectionsPerAddress !== undefined ? { maxConnectionsPerAddress: opts.maxConnectionsPerAddress } : {}),
      ...(opts.firstCommandTimeoutMs !== undefined ? { firstCommandTimeoutMs: opts.firstCommandTimeoutMs } : {}),
    });
  } catch (e) {
    await supervisor.stop();
    await persistence.close();
    stats.stop();
    throw e;
  }
  const parts: { close(): Promise<void> }[] = [];
  let closed = false;
  const server: RunningServer = {
    address: listener.address,
    supervisor,
    persistence,
    bus,
    outbox,
    dir: opts.dir,
    ...(imported ? { imported } : {}),
    async close() {
      if (closed) return;
      closed = true;
      supervisor.beginStop();
      await listener.close();
      // a build being recorded by the web when the stop came lands before the web closes
      await supervisor.settleResults();
      for (const p of parts.reverse()) await p.close().catch(() => {});
      outbox.stop();
      await supervisor.stop();
      await persistence.close();
      stats.stop();
    },
  };
  if (opts.attach) {
    try {
      const part = await opts.attach(server);
      if (part) parts.push(part);
    } catch (e) {
      await server.close();
      throw e;
    }
  }
  bus.emit('server:listening', { host: listener.address.host, port: listener.address.port });
  return server;
}
