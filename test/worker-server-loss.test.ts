// The server goes away in the middle of a job: in every sandbox the job's processes (or its container) and its
// directory must be gone, and the worker must say the connection was lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { BwrapSandbox } from '../sandbox/bwrap.ts';
import { DockerSandbox, LABEL_INSTANCE } from '../sandbox/docker.ts';
import { ProcessSandbox } from '../sandbox/process.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';
import { encodeCmd } from '../src/protocol/cmd-codec.ts';
import { randomUuid } from '../src/protocol/uuid.ts';
import { workSession } from '../src/worker/worker-loop.ts';
import { sleepersGone, whenAvailable } from './sandbox-conformance.ts';
import { RawServer, vector } from './worker-raw-server.ts';

const IMAGE = process.env.BUILDER_TEST_IMAGE ?? 'builder-busybox:latest';

async function serverDiesMidJob(sandbox: Sandbox): Promise<void> {
  const server = await new RawServer().listen();
  const tmpRoot = mkdtempSync(join(tmpdir(), 'builder-loss-test-'));
  const n = 500_000 + Math.floor(Math.random() * 99_999);
  try {
    const session = workSession({ host: '127.0.0.1', port: server.port, platform: 'test', sandbox, tmpRoot, log: () => undefined });
    const c = await server.accept();
    assert.deepEqual(await c.readFrame(), vector('client_hello_worker'));
    c.send(vector('server_hello'));
    assert.deepEqual(await c.readFrame(), vector('job_requested'));
    const uuid = randomUuid();
    c.send(encodeCmd({ type: 'job-schedule', uuid, job: { type: 'script', name: 'long', script: `sleep ${n} &\necho started\nsleep ${n}\n`, platform: 'test' } }));
    assert.ok(await c.readFrame(), 'the first output line');
    // The server process dies: its sockets are closed by the kernel.
    await server.close();
    const end = await session;
    assert.equal(end.type, 'lost');
    assert.deepEqual(await sleepersGone(n), []);
    assert.deepEqual(readdirSync(tmpRoot), []);
  } finally {
    await server.close();
    rmSync(tmpRoot, { recursive: true, force: true });
    await sandbox.cleanup?.();
  }
}

test('process sandbox: the job tree dies with the connection', () => serverDiesMidJob(new ProcessSandbox()));

const bwrapProbe = spawnSync('bwrap', ['--die-with-parent', '--unshare-all', '--ro-bind', '/', '/', 'true']);
whenAvailable('bwrap', bwrapProbe.error?.message ?? (bwrapProbe.status === 0 ? undefined : `exit ${bwrapProbe.status}`), () => {
  test('bwrap sandbox: the job tree dies with the connection', () => serverDiesMidJob(new BwrapSandbox()));
});

const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const dockerProblem = await docker.ping().then(
  () => undefined,
  (err: Error) => err.message,
);
whenAvailable('docker', dockerProblem, () => {
  test('docker sandbox: the container is gone with the connection', async () => {
    const sandbox = new DockerSandbox({ image: IMAGE, docker });
    await serverDiesMidJob(sandbox);
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABEL_INSTANCE}=${sandbox.instance}`] } });
    assert.deepEqual(left, []);
  });
});
