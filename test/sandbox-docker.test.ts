// The docker sandbox against the real engine (.ci/start-docker.sh starts it and imports builder-busybox:latest).
// Run twice: with the local socket (bind mount) and as a remote engine through DOCKER_HOST=tcp:// (a TCP relay to
// the same engine's socket), where the job directory is copied in and out.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import Docker from 'dockerode';
import { DockerSandbox, LABEL_INSTANCE, LABEL_PID } from '../sandbox/docker.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';
import type { TestClock } from '../src/scheduler/clock.ts';
import { conformance, jobDir, runScript, whenAvailable, type ConformanceOptions } from './sandbox-conformance.ts';

const IMAGE = process.env.BUILDER_TEST_IMAGE ?? 'builder-busybox:latest';
const SOCKET = '/var/run/docker.sock';

async function dockerProblem(): Promise<string | undefined> {
  try {
    const docker = new Docker({ socketPath: SOCKET });
    await docker.ping();
    await docker.getImage(IMAGE).inspect();
    return undefined;
  } catch (err) {
    return `${(err as Error).message} (run: bash .ci/start-docker.sh)`;
  }
}

async function leftovers(sandbox: Sandbox): Promise<string[]> {
  const docker = new Docker({ socketPath: SOCKET });
  const list = await docker.listContainers({ all: true, filters: { label: [`${LABEL_INSTANCE}=${(sandbox as DockerSandbox).instance}`] } });
  return list.map((c) => c.Names.join(','));
}

function localOptions(): ConformanceOptions {
  return {
    make: (clock: TestClock) => new DockerSandbox({ image: IMAGE, clock, docker: new Docker({ socketPath: SOCKET }), networkMode: 'host' }),
    liveDirectory: true,
    nc: 'nc',
    networkReachesHostLoopback: true,
    fullUserland: false,
    leftovers,
  };
}

const problem = await dockerProblem();

whenAvailable('docker', problem, () => {
  describe('local engine, job directory bind-mounted', () => {
    conformance(localOptions());

    test('a job over its memory limit ends as out of memory', async (t) => {
      const r = await runScript(localOptions(), 'set -e\necho start\ndd if=/dev/zero of=/dev/null bs=100M count=1\necho survived\n', {
        spec: { limits: { memoryBytes: 32 * 1024 * 1024 } },
      });
      assert.deepEqual(r.outcome, { type: 'out-of-memory' });
      assert.equal(r.lines[0], 'start');
      assert.deepEqual(await leftovers(r.sandbox), []);
    });

    test('the process limit stops a fork bomb', async () => {
      const r = await runScript(localOptions(), 'i=0\nwhile [ $i -lt 64 ]; do sleep 30 & i=$((i+1)); done\necho all-started\n', {
        spec: { limits: { pids: 16 } },
      });
      assert.equal(r.outcome.type, 'exited');
      assert.notEqual((r.outcome as { code: number }).code, 0);
      assert.ok(!r.lines.includes('all-started'));
    });

    test('the CPU limit is set on the container', async () => {
      const r = await runScript(localOptions(), 'cat /sys/fs/cgroup/cpu.max 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us\n', {
        spec: { limits: { cpus: 0.5 } },
      });
      assert.deepEqual(r.outcome, { type: 'exited', code: 0 });
      const [quota, period] = r.lines.join(' ').trim().split(/\s+/).map(Number);
      assert.equal(quota! / period!, 0.5);
    });

    test('the job sees only its own environment, in /build, as the worker user', async () => {
      const r = await runScript(localOptions(), 'pwd\nid -u\necho "$JOB_VAR"\n', { spec: { env: { JOB_VAR: 'from-spec' } } });
      assert.deepEqual(r.outcome, { type: 'exited', code: 0 });
      assert.deepEqual(r.lines, ['/build', String(process.getuid?.() ?? 0), 'from-spec']);
    });

    test('an image that does not exist is a clear failure', async () => {
      const r = await runScript({ ...localOptions(), make: (clock) => new DockerSandbox({ image: 'builder-no-such-image:never', clock, docker: new Docker({ socketPath: SOCKET }) }) }, 'true\n');
      assert.equal(r.outcome.type, 'failed');
      assert.equal((r.outcome as { message: string }).message, 'docker: cannot create a container from builder-no-such-image:never: the image is not on the engine (docker load or docker pull it first)');
    });

    test('check() says what is missing: the image, or the engine', async () => {
      await new DockerSandbox({ image: IMAGE, docker: new Docker({ socketPath: SOCKET }) }).check();
      await assert.rejects(new DockerSandbox({ image: 'builder-no-such-image:never', docker: new Docker({ socketPath: SOCKET }) }).check(), {
        code: 'ERR_SANDBOX_DOCKER',
        message: 'image builder-no-such-image:never is not on the engine (docker load or docker pull it first)',
      });
      await assert.rejects(new DockerSandbox({ image: IMAGE, docker: new Docker({ socketPath: '/nonexistent/docker.sock' }) }).check(), {
        code: 'ERR_SANDBOX_DOCKER',
        message: /does not answer/,
      });
    });

    test('cleanup removes the containers of jobs still running (worker exit)', async () => {
      const sandbox = new DockerSandbox({ image: IMAGE, docker: new Docker({ socketPath: SOCKET }) });
      const dir = jobDir();
      try {
        writeFileSync(`${dir}/script.sh`, 'echo started\nsleep 300\n', { mode: 0o500 });
        let started!: () => void;
        const seen = new Promise<void>((r) => (started = r));
        const running = sandbox.run({ dir, script: 'script.sh', timeoutMs: 600_000, network: false }, () => started(), new AbortController().signal);
        await seen;
        assert.equal((await leftovers(sandbox)).length, 1);
        await sandbox.cleanup();
        assert.deepEqual(await leftovers(sandbox), []);
        assert.deepEqual(await running, { type: 'aborted', reason: 'worker exiting' });
      } finally {
        await sandbox.cleanup();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('remote engine through DOCKER_HOST=tcp://, job directory copied', () => {
    let relay: Server;
    let host = '';
    before(async () => {
      relay = createServer((socket) => {
        const engine = createConnection(SOCKET);
        socket.pipe(engine).pipe(socket);
        socket.on('error', () => engine.destroy());
        engine.on('error', () => socket.destroy());
      });
      await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
      host = `tcp://127.0.0.1:${(relay.address() as { port: number }).port}`;
    });
    after(() => relay.close());

    const make = (clock: TestClock) => {
      const saved = process.env.DOCKER_HOST;
      process.env.DOCKER_HOST = host;
      try {
        const sandbox = new DockerSandbox({ image: IMAGE, clock, networkMode: 'host' });
        assert.equal(sandbox.transfer, 'copy');
        return sandbox;
      } finally {
        if (saved === undefined) delete process.env.DOCKER_HOST;
        else process.env.DOCKER_HOST = saved;
      }
    };
    conformance({ make, liveDirectory: false, nc: 'nc', networkReachesHostLoopback: true, fullUserland: false, leftovers });
  });

  test('no container of this test process is left', async () => {
    const docker = new Docker({ socketPath: SOCKET });
    const list = await docker.listContainers({ all: true, filters: { label: [`${LABEL_PID}=${process.pid}`] } });
    assert.deepEqual(list.map((c) => c.Names), []);
  });
});
