// The `builder worker` command as a real process: options, SIGTERM after the current job, a second SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeCmd, encodeCmd } from '../src/protocol/cmd-codec.ts';
import { randomUuid } from '../src/protocol/uuid.ts';
import { sleepersGone } from './sandbox-conformance.ts';
import { RawServer, vector } from './worker-raw-server.ts';

import { BIN } from './helpers/cli-process.ts'; // rebuilds dist/ if a source changed
const ALIAS = new URL('../bin/builder-worker.mjs', import.meta.url).pathname;

test('--help lists the options and their defaults', () => {
  const r = spawnSync(process.execPath, [ALIAS, '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  for (const text of ['--remote HOST:PORT', 'default 127.0.0.1:1234', 'BUILDER_REMOTE', '--loop', 'process | bwrap | docker', '--image', '--network', '--memory', '--cpus', '--pids', 'default 3600', '--max-artifact-bytes']) {
    assert.ok(r.stdout.includes(text), text);
  }
});

test('bad command lines are refused with exit code 2 and a reason', () => {
  for (const [args, reason] of [
    [[], 'exactly one PLATFORM'],
    [['p', '--sandbox', 'chroot'], "unknown sandbox 'chroot'"],
    [['p', '--sandbox', 'docker'], '--image'],
    [['p', '--memory', '1g'], 'need --sandbox docker'],
    [['p', '--timeout', '-3'], '--timeout'],
    [['p', '-r', 'host:99999'], 'port out of range'],
  ] as const) {
    const r = spawnSync(process.execPath, [BIN, 'worker', ...args], { encoding: 'utf8' });
    assert.equal(r.status, 2, args.join(' '));
    assert.ok(r.stderr.includes(reason), `${args.join(' ')}: ${r.stderr}`);
  }
});

test('a sandbox that cannot work here stops the worker before it takes a job', () => {
  const r = spawnSync(process.execPath, [BIN, 'worker', 'p', '--sandbox', 'docker', '--image', 'builder-no-such-image:never', '-r', '127.0.0.1:9'], {
    encoding: 'utf8',
    env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent/docker.sock' },
  });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /docker engine does not answer/);
});

async function startJob(script: string) {
  const server = await new RawServer().listen();
  const tmpRoot = mkdtempSync(join(tmpdir(), 'builder-cli-test-'));
  const child = spawn(process.execPath, [BIN, 'worker', 'test', '--loop', '--tmp', tmpRoot], {
    env: { ...process.env, BUILDER_REMOTE: `127.0.0.1:${server.port}` },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const c = await server.accept();
  assert.deepEqual(await c.readFrame(), vector('client_hello_worker'));
  c.send(vector('server_hello'));
  assert.deepEqual(await c.readFrame(), vector('job_requested'));
  const uuid = randomUuid();
  c.send(encodeCmd({ type: 'job-schedule', uuid, job: { type: 'script', name: 'cli', script, platform: 'test' } }));
  const first = decodeCmd((await c.readFrame())!);
  assert.equal(first.type, 'output');
  const dir = Buffer.from((first as { line: Uint8Array }).line).toString();
  const stderrSays = async (text: string) => {
    for (let i = 0; i < 2000 && !stderr.includes(text); i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(stderr.includes(text), stderr);
  };
  const cleanup = async () => {
    child.kill('SIGKILL');
    await server.close();
    rmSync(tmpRoot, { recursive: true, force: true });
  };
  return { server, tmpRoot, child, exited, c, dir, stderrSays, cleanup };
}

test('SIGTERM: the current job finishes and reports, then the worker exits 0', async () => {
  const job = await startJob('pwd\nwhile [ ! -e go ]; do sleep 0.02; done\nrm go\necho result > out.txt\n');
  try {
    job.child.kill('SIGTERM');
    await job.stderrSays('finishing the current job');
    writeFileSync(join(job.dir, 'go'), '');
    const finished = decodeCmd((await job.c.readFrame())!);
    assert.ok(finished.type === 'job-finished');
    assert.deepEqual(finished.result, { type: 'exited', code: 0 });
    assert.deepEqual(finished.files.map((f) => [f.path, Buffer.from(f.data).toString()]), [['out.txt', 'result\n']]);
    assert.equal(await job.exited, 0);
    assert.deepEqual(readdirSync(job.tmpRoot), []);
  } finally {
    await job.cleanup();
  }
});

test('a second SIGTERM kills the job and drops the connection, nothing left', async () => {
  const n = 400_000 + Math.floor(Math.random() * 99_999);
  const job = await startJob(`pwd\nsleep ${n}\n`);
  try {
    job.child.kill('SIGTERM');
    await job.stderrSays('finishing the current job');
    job.child.kill('SIGTERM');
    assert.equal(await job.c.readFrame(), null);
    assert.equal(await job.exited, 0);
    assert.deepEqual(await sleepersGone(n), []);
    assert.deepEqual(readdirSync(job.tmpRoot), []);
  } finally {
    await job.cleanup();
  }
});
