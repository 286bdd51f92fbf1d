// Our worker against a raw-frame server that replays the original's conversation with the vector bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import Docker from 'dockerode';
import { BwrapSandbox } from '../sandbox/bwrap.ts';
import { DockerSandbox } from '../sandbox/docker.ts';
import { ProcessSandbox } from '../sandbox/process.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';
import { whenAvailable } from './sandbox-conformance.ts';
import { encodeCmd, decodeCmd } from '../src/protocol/cmd-codec.ts';
import { uuidFromString } from '../src/protocol/uuid.ts';
import { TestClock } from '../src/scheduler/clock.ts';
import { workSession, type SessionEnd } from '../src/worker/worker-loop.ts';
import { RawServer, vector, type RawConnection } from './worker-raw-server.ts';

async function withWorker(
  script: (connection: RawConnection) => Promise<void>,
  options: { clock?: TestClock; sandbox?: Sandbox } = {},
): Promise<{ end: SessionEnd; log: string[]; leftInTmp: string[] }> {
  const server = await new RawServer().listen();
  const tmpRoot = mkdtempSync(join(tmpdir(), 'builder-worker-test-'));
  const log: string[] = [];
  try {
    const session = workSession({
      host: '127.0.0.1',
      port: server.port,
      platform: 'test',
      sandbox: options.sandbox ?? new ProcessSandbox({ clock: options.clock }),
      tmpRoot,
      log: (m) => log.push(m),
    });
    await script(await server.accept());
    const end = await session;
    return { end, log, leftInTmp: readdirSync(tmpRoot) };
  } finally {
    await server.close();
    rmSync(tmpRoot, { recursive: true, force: true });
    await options.sandbox?.cleanup?.();
  }
}

/** The hello and the job request, byte for byte as the original worker sends them. */
async function handshake(c: RawConnection): Promise<void> {
  assert.deepEqual(await c.readFrame(), vector('client_hello_worker'));
  c.send(vector('server_hello'));
  assert.deepEqual(await c.readFrame(), vector('job_requested'));
}

async function rest(c: RawConnection): Promise<Buffer[]> {
  const frames: Buffer[] = [];
  for (let f = await c.readFrame(); f !== null; f = await c.readFrame()) frames.push(f);
  return frames;
}

test('the vector job: hello, request, schedule, output, finished', async () => {
  let frames: Buffer[] = [];
  const { end, leftInTmp } = await withWorker(async (c) => {
    await handshake(c);
    c.send(vector('job_schedule'));
    frames = await rest(c);
  });
  assert.equal(end.type, 'job-done');
  assert.deepEqual(frames[0], vector('output'));
  assert.equal(frames.length, 2);
  const finished = decodeCmd(frames[1]!);
  const expected = decodeCmd(vector('job_finished_exited'));
  assert.ok(finished.type === 'job-finished' && expected.type === 'job-finished');
  assert.deepEqual(finished.uuid, expected.uuid);
  assert.deepEqual(finished.result, { type: 'exited', code: 0 });
  // The vector's job writes out.txt only; the recorded result also carries a binary the vector adds.
  assert.deepEqual(finished.files.map((f) => [f.path, Buffer.from(f.data).toString()]), [['out.txt', 'data\n']]);
  assert.deepEqual(leftInTmp, []);
});

async function binaryArtifactConversation(sandbox?: Sandbox): Promise<void> {
  const uuid = uuidFromString('f47ac10b-58cc-4372-a567-0e02b2c3d479');
  const script = "echo hello\necho\necho data > out.txt\nmkdir bin\nprintf '\\177ELF\\002\\001\\001\\000\\377\\376' > bin/hello.hvt\nln -s out.txt link.txt\n";
  let frames: Buffer[] = [];
  const { leftInTmp } = await withWorker(
    async (c) => {
      await handshake(c);
      c.send(encodeCmd({ type: 'job-schedule', uuid, job: { type: 'script', name: 'hello-job', script, platform: 'test' } }));
      frames = await rest(c);
    },
    { sandbox },
  );
  assert.deepEqual(frames, [vector('output'), vector('output_empty'), vector('job_finished_exited')]);
  assert.deepEqual(leftInTmp, []);
}

test('JobFinished with a binary artifact is byte for byte the original', () => binaryArtifactConversation());

const bwrapProbe = spawnSync('bwrap', ['--die-with-parent', '--unshare-all', '--ro-bind', '/', '/', 'true']);
whenAvailable('bwrap', bwrapProbe.error?.message ?? (bwrapProbe.status === 0 ? undefined : `exit ${bwrapProbe.status}`), () => {
  test('the same conversation from the bwrap sandbox', () => binaryArtifactConversation(new BwrapSandbox()));
});

const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const dockerProblem = await docker.ping().then(
  () => undefined,
  (err: Error) => err.message,
);
whenAvailable('docker', dockerProblem, () => {
  test('the same conversation from the docker sandbox', () => binaryArtifactConversation(new DockerSandbox({ image: process.env.BUILDER_TEST_IMAGE ?? 'builder-busybox:latest', docker })));
});

test('a nonzero exit keeps the files: job_finished_exited_nonzero', async () => {
  const uuid = uuidFromString('00112233-4455-6677-8899-aabbccddeeff');
  let frames: Buffer[] = [];
  await withWorker(async (c) => {
    await handshake(c);
    c.send(encodeCmd({ type: 'job-schedule', uuid, job: { type: 'script', name: 'fails', script: 'echo "build failed" > log\nexit 2\n', platform: 'test' } }));
    frames = await rest(c);
  });
  assert.deepEqual(frames, [vector('job_finished_exited_nonzero')]);
});

test('a signal sends no files: job_finished_signalled', async () => {
  const uuid = uuidFromString('00112233-4455-6677-8899-aabbccddeeff');
  let frames: Buffer[] = [];
  await withWorker(async (c) => {
    await handshake(c);
    c.send(encodeCmd({ type: 'job-schedule', uuid, job: { type: 'script', name: 'killed', script: 'echo x > file\nkill -9 $$\n', platform: 'test' } }));
    frames = await rest(c);
  });
  assert.deepEqual(frames, [vector('job_finished_signalled')]);
});

test('a timeout ends as Msg "timeout" with no files: job_finished_msg', async () => {
  const uuid = uuidFromString('6ba7b810-9dad-11d1-80b4-00c04fd430c8');
  const clock = new TestClock();
  let frames: Buffer[] = [];
  await withWorker(
    async (c) => {
      await handshake(c);
      c.send(encodeCmd({ type: 'job-schedule', uuid, job: { type: 'script', name: 'slow', script: 'echo x > file\necho started\nsleep 3600\n', platform: 'test' } }));
      const started = await c.readFrame();
      assert.deepEqual(started, Buffer.from(encodeCmd({ type: 'output', uuid, line: Buffer.from('started') })));
      clock.advance(60 * 60 * 1000);
      frames = await rest(c);
    },
    { clock },
  );
  assert.deepEqual(frames, [vector('job_finished_msg')]);
});

test('a server that answers the hello with something else is left', async () => {
  const { end } = await withWorker(async (c) => {
    await c.readFrame();
    c.send(vector('success'));
  });
  assert.equal(end.type, 'lost');
  assert.equal(end.type === 'lost' && (end.error as Error & { code?: string }).code, 'ERR_WORKER_HANDSHAKE');
});

test('a server that closes before sending a job: lost, nothing run', async () => {
  const { end, leftInTmp } = await withWorker(async (c) => {
    await handshake(c);
    c.socket.destroy();
  });
  assert.equal(end.type, 'lost');
  assert.deepEqual(leftInTmp, []);
});
