// A 9P server over the in-memory backend on a TestClock, and clients for it.
import assert from 'node:assert/strict';
import { TestClock } from '../../src/scheduler/clock.ts';
import { startNinepServer, type RunningNinepServer } from '../../src/ninep/start-ninep-server.ts';
import { NinepClient } from '../../src/ninep/client.ts';
import type { Dialect } from '../../src/ninep/codec.ts';
import { NinepRemoteError } from '../../src/errors/ninep-error.ts';
import { MemoryJobsBackend, loadCronParser } from './ninep-memory-backend.ts';

export interface NinepFixture {
  clock: TestClock;
  backend: MemoryJobsBackend;
  server: RunningNinepServer;
  /** whether src/scheduler/cron.ts (jobd's whole dialect) is available */
  fullCron: boolean;
  connect(version: Dialect, msize?: number): Promise<NinepClient>;
  close(): Promise<void>;
}

export async function startNinepFixture(start = Date.UTC(2024, 0, 1, 12, 0, 0)): Promise<NinepFixture> {
  const clock = new TestClock(start);
  const { parse, full } = await loadCronParser();
  const backend = new MemoryJobsBackend(clock, parse);
  const server = await startNinepServer({ host: '127.0.0.1', port: 0, backend, clock });
  const clients: NinepClient[] = [];
  return {
    clock,
    backend,
    server,
    fullCron: full,
    async connect(version, msize) {
      const c = await NinepClient.connect({ host: '127.0.0.1', port: server.address.port, version, ...(msize ? { msize } : {}) });
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.close();
      await backend.idle();
      await server.close();
    },
  };
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
