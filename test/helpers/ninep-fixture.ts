// The real builder server (LMDB store, supervisor, TCP listener) on a TestClock with its 9P file
// system attached (attachParts, port 0), our 9P clients for it, and our real worker to run jobs.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TestClock } from '../../src/scheduler/clock.ts';
import { attachParts } from '../../src/server/attach-parts.ts';
import type { ScheduleEntry } from '../../src/server/persistence.ts';
import type { Supervisor } from '../../src/server/supervisor.ts';
import { NinepClient } from '../../src/ninep/client.ts';
import type { Dialect } from '../../src/ninep/codec.ts';
import { NinepRemoteError } from '../../src/errors/ninep-error.ts';
import { runWorker } from '../../src/worker/worker-loop.ts';
import { destroyPool } from '../../src/pool/pool.ts';
import { ProcessSandbox } from '../../sandbox/process.ts';
import { startFixture, type Fixture } from './server-fixture.ts';

export const START = Date.UTC(2024, 0, 1, 12, 0, 0);

export interface NinepFixture {
  clock: TestClock;
  builder: Fixture;
  /** the builder server's supervisor (changes on restart) */
  readonly supervisor: Supervisor;
  /** the builder protocol port (clients and workers) */
  readonly port: number;
  /** the 9P port (changes on restart) */
  readonly ninepPort: number;
  /** the job as the supervisor holds it */
  job(name: string): ScheduleEntry | undefined;
  connect(version: Dialect, msize?: number): Promise<NinepClient>;
  /** Moves the test clock, lets the supervisor's tick and its store commit happen. */
  advance(ms: number): Promise<void>;
  advanceTo(at: number): Promise<void>;
  /** Our worker on `platform` runs one job (waiting for one if none is queued) and reports it. */
  runOneJob(platform: string): Promise<void>;
  /** Our worker waiting for a job on `platform` until stop() (it must not get one). */
  waitingWorker(platform: string): { stop(): Promise<number> };
  /** Resolves once `name` has `count` finished runs in its history. */
  finishedRuns(name: string, count: number): Promise<void>;
  /** A clean stop and start on the same LMDB directory; clients must connect again. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

const realWait = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls (real time, bounded) until `cond` holds: for work that crosses TCP or the store. */
export async function until(cond: () => boolean, what: string, tries = 2000): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (cond()) return;
    await realWait(10);
  }
  assert.fail(`gave up waiting for ${what}`);
}

export async function startNinepFixture(start = START): Promise<NinepFixture> {
  const clock = new TestClock(start);
  let ninepPort = 0;
  const builder = await startFixture({
    clock,
    attach: async (server) => {
      const parts = await attachParts(server, { ninep: { host: '127.0.0.1', port: 0 } });
      ninepPort = parts.ninep!.port;
      return parts;
    },
  });
  const tmpRoot = await mkdtemp(path.join(os.tmpdir(), 'builder-ninep-worker-'));
  const clients: NinepClient[] = [];
  const workers = new Set<Promise<number>>();
  const worker = (platform: string, stop?: AbortSignal): Promise<number> => {
    const log: string[] = [];
    const p = runWorker({
      host: '127.0.0.1',
      port: builder.port,
      platform,
      sandbox: new ProcessSandbox(),
      tmpRoot,
      log: (m) => log.push(m),
      ...(stop ? { stop } : {}),
    }).then((code) => {
      assert.equal(code, 0, log.join('\n'));
      return code;
    });
    workers.add(p);
    void p.finally(() => workers.delete(p)).catch(() => {});
    return p;
  };
  const settle = async () => {
    await clock.settle();
    await realWait(20);
    await clock.settle();
  };
  const fx: NinepFixture = {
    clock,
    builder,
    get supervisor() {
      return builder.server.supervisor;
    },
    get port() {
      return builder.port;
    },
    get ninepPort() {
      return ninepPort;
    },
    job: (name) => builder.server.supervisor.schedule.get(name),
    async connect(version, msize) {
      const c = await NinepClient.connect({ host: '127.0.0.1', port: ninepPort, version, ...(msize ? { msize } : {}) });
      clients.push(c);
      return c;
    },
    async advance(ms) {
      await fx.advanceTo(clock.now() + ms);
    },
    async advanceTo(at) {
      clock.advanceTo(at);
      await settle();
    },
    async runOneJob(platform) {
      await worker(platform);
    },
    waitingWorker(platform) {
      const ctl = new AbortController();
      const done = worker(platform, ctl.signal);
      return {
        stop() {
          ctl.abort();
          return done;
        },
      };
    },
    async finishedRuns(name, count) {
      await until(() => builder.server.supervisor.history(name, count).length >= count, `${count} finished runs of ${name}`);
    },
    async restart() {
      for (const c of clients.splice(0)) c.close();
      await builder.restart();
      await settle();
    },
    async close() {
      for (const c of clients.splice(0)) c.close();
      await Promise.allSettled([...workers]);
      await builder.close();
      await rm(tmpRoot, { recursive: true, force: true });
      await destroyPool();
    },
  };
  return fx;
}

/** Asserts that `p` fails with a 9P error carrying `errno`, and (outside .L) a message matching `message`. */
export async function rejectsNinep(p: Promise<unknown>, errno: number, message?: RegExp): Promise<NinepRemoteError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof NinepRemoteError, `expected a 9P error, got ${String(e)}`);
    assert.equal(e.errno, errno, `errno of "${e.message}"`);
    if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail('expected a 9P error reply');
}
