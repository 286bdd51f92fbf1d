// --loop: reconnecting with jittered backoff while the server is away, one job after another, a clean stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessSandbox } from '../sandbox/process.ts';
import { decodeCmd } from '../src/protocol/cmd-codec.ts';
import { TestClock } from '../src/scheduler/clock.ts';
import { Backoff } from '../src/worker/backoff.ts';
import { parseRemote } from '../src/worker/remote-address.ts';
import { greet, runWorker } from '../src/worker/worker-loop.ts';
import { RawServer, vector, type RawConnection } from './worker-raw-server.ts';

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(check(), 'condition reached');
}

/** The vector job on a new connection, up to the output and the JobFinished. */
async function serveVectorJob(c: RawConnection): Promise<Buffer[]> {
  assert.deepEqual(await c.readFrame(), vector('client_hello_worker'));
  c.send(vector('server_hello'));
  assert.deepEqual(await c.readFrame(), vector('job_requested'));
  c.send(vector('job_schedule'));
  return [(await c.readFrame())!, (await c.readFrame())!];
}

test('backoff doubles up to its cap, jittered within [ceiling/2, ceiling)', () => {
  const low = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => low.next()), [50, 100, 200, 400, 500, 500]);
  const high = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.999 });
  assert.deepEqual([1, 2, 3].map(() => high.next()), [100, 200, 400]);
  high.reset();
  assert.equal(high.next(), 100);
});

test('remote addresses: names, IPv4, bracketed IPv6, default port', () => {
  assert.deepEqual(parseRemote('build.example.org:4000'), { host: 'build.example.org', port: 4000 });
  assert.deepEqual(parseRemote('10.0.0.1'), { host: '10.0.0.1', port: 1234 });
  assert.deepEqual(parseRemote('[::1]:99'), { host: '::1', port: 99 });
  for (const bad of ['::1:99', 'host:0', 'host:70000', 'host:x', ':80', 'a b:1']) assert.throws(() => parseRemote(bad), { code: 'ERR_WORKER_USAGE' }, bad);
});

test('--loop waits for the server, runs jobs one after another and stops cleanly', async () => {
  const probe = await new RawServer().listen();
  const port = probe.port;
  await probe.close();
  const clock = new TestClock();
  const log: string[] = [];
  const stop = new AbortController();
  const tmpRoot = mkdtempSync(join(tmpdir(), 'builder-loop-test-'));
  const server = new RawServer();
  try {
    const worker = runWorker({
      host: '127.0.0.1',
      port,
      platform: 'test',
      sandbox: new ProcessSandbox(),
      loop: true,
      clock,
      backoff: { initialMs: 1000, maxMs: 8000, random: () => 0 },
      stop: stop.signal,
      tmpRoot,
      log: (m) => log.push(m),
    });
    await until(() => log.some((m) => m.includes('retrying in 500 ms')));
    clock.advance(500);
    await until(() => log.some((m) => m.includes('retrying in 1000 ms')));
    await server.listen(port);
    clock.advance(1000);
    for (let job = 0; job < 2; job++) {
      const c = await server.accept();
      const frames = await serveVectorJob(c);
      assert.deepEqual(frames[0], vector('output'));
      const finished = decodeCmd(frames[1]!);
      assert.ok(finished.type === 'job-finished' && finished.result.type === 'exited');
      // The first time the worker asks for its next job with the JobFinished; this server closes as the original
      // does, and the worker asks no more: it closes after the second job's JobFinished itself.
      if (job === 0) assert.deepEqual(await c.readFrame(), vector('job_requested'));
      else assert.equal(await c.readFrame(), null);
      c.socket.end();
    }
    // Third connection: the worker waits for a job; a stop now ends it at once.
    const third = await server.accept();
    assert.deepEqual(await third.readFrame(), vector('client_hello_worker'));
    third.send(vector('server_hello'));
    assert.deepEqual(await third.readFrame(), vector('job_requested'));
    stop.abort();
    assert.equal(await worker, 0);
    assert.equal(await third.readFrame(), null);
    assert.deepEqual(readdirSync(tmpRoot), []);
  } finally {
    await server.close();
    rmSync(tmpRoot, { recursive: true, force: true });
  }
});

test('a looping worker keeps its connection where the server answers the JobRequested sent with its JobFinished', async () => {
  const server = await new RawServer().listen();
  const stop = new AbortController();
  const tmpRoot = mkdtempSync(join(tmpdir(), 'builder-loop-test-'));
  const log: string[] = [];
  try {
    const worker = runWorker({ host: '127.0.0.1', port: server.port, platform: 'test', sandbox: new ProcessSandbox(), loop: true, stop: stop.signal, tmpRoot, log: (m) => log.push(m) });
    const c = await server.accept();
    await serveVectorJob(c);
    // both in one write: a server that finds the request received with the JobFinished answers it here
    assert.deepEqual(await c.readFrame(), vector('job_requested'));
    for (let job = 1; job < 4; job++) {
      c.send(vector('job_schedule'));
      assert.deepEqual(await c.readFrame(), vector('output'));
      assert.equal(decodeCmd((await c.readFrame())!).type, 'job-finished');
      assert.deepEqual(await c.readFrame(), vector('job_requested'));
    }
    stop.abort();
    assert.equal(await worker, 0);
    assert.equal(await c.readFrame(), null);
    assert.equal(server.pending, 0, 'no other connection');
    assert.equal(log.filter((m) => m.includes(': finished, exited 0')).length, 4);
  } finally {
    await server.close();
    rmSync(tmpRoot, { recursive: true, force: true });
  }
});

test('the stop signal keeps no listener from the commands it was raced with', async () => {
  // A looping worker's stop signal lives as long as it does: a listener left per command piled up job after job.
  const server = await new RawServer().listen();
  const stop = new AbortController();
  try {
    for (let i = 0; i < 5; i++) {
      const greeting = greet({ host: '127.0.0.1', port: server.port, platform: 'test', sandbox: new ProcessSandbox(), stop: stop.signal, log: () => undefined });
      const c = await server.accept();
      assert.deepEqual(await c.readFrame(), vector('client_hello_worker'));
      c.send(vector('server_hello'));
      const g = await greeting;
      assert.equal(g.type, 'greeted');
      if (g.type === 'greeted') g.socket.destroy();
    }
    assert.equal(getEventListeners(stop.signal, 'abort').length, 0);
  } finally {
    await server.close();
  }
});

test('without --loop an unreachable server is exit code 1', async () => {
  const probe = await new RawServer().listen();
  const port = probe.port;
  await probe.close();
  const log: string[] = [];
  const code = await runWorker({ host: '127.0.0.1', port, platform: 'test', sandbox: new ProcessSandbox(), log: (m) => log.push(m) });
  assert.equal(code, 1);
  assert.match(log.join('\n'), /cannot reach 127\.0\.0\.1:\d+: .*ECONNREFUSED/);
});
