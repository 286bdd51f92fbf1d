// Every client command and the worker conversation over real TCP, with the original's replies.
import assert from 'node:assert/strict';
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeExec } from '../src/protocol/exec-codec.ts';
import { encodeCmd } from '../src/protocol/cmd-codec.ts';
import { connect } from '../src/protocol/connect.ts';
import { frame } from '../src/protocol/framing.ts';
import { uuidToString } from '../src/protocol/uuid.ts';
import type { Cmd, ScriptJob } from '../src/protocol/types.ts';
import { clientCall, dec, enc, outcome, startFixture, workerRequest, type Fixture } from './helpers/server-fixture.ts';

const job = (name: string, platform = 'test', script = 'echo hi'): ScriptJob => ({ type: 'script', name, script, platform });
const failure = (message: string): Cmd => ({ type: 'failure', message });
const success: Cmd = { type: 'success' };

async function info(port: number) {
  const replies = await clientCall(port, { type: 'info' });
  assert.equal(replies.length, 2);
  assert.deepEqual(replies[1], success);
  const r = replies[0]!;
  assert.equal(r.type, 'info-reply');
  return (r as Extract<Cmd, { type: 'info-reply' }>).info;
}

describe('client commands', () => {
  let fx: Fixture;
  before(async () => {
    fx = await startFixture();
  });
  after(() => fx.close());

  test('schedule queues at once, refuses a used name', async () => {
    assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'daily', job: job('a') }), success);
    assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'hourly', job: job('a') }), failure('job name already used'));
    const i = await info(fx.port);
    assert.deepEqual(i.schedule.map((s) => [s.job.name, s.period]), [['a', 'daily']]);
    assert.deepEqual(i.queues, [{ platform: 'test', jobs: [job('a')] }]);
  });

  test('unschedule removes the entry and its queued copies', async () => {
    assert.deepEqual(await outcome(fx.port, { type: 'unschedule', name: 'nope' }), failure('unknown job nope'));
    assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'weekly', job: job('b') }), success);
    assert.deepEqual(await outcome(fx.port, { type: 'unschedule', name: 'b' }), success);
    const i = await info(fx.port);
    assert.ok(!i.schedule.some((s) => s.job.name === 'b'));
    assert.ok(!i.queues.some((q) => q.jobs.some((j) => j.name === 'b')));
  });

  test('execute moves a job to the front, with the original errors', async () => {
    assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'daily', job: job('c') }), success);
    assert.deepEqual(await outcome(fx.port, { type: 'execute', name: 'missing' }), failure('unknown job missing'));
    assert.deepEqual(await outcome(fx.port, { type: 'execute', name: 'c', platform: 'other' }), failure('execute failed: job is for a different platform: test'));
    assert.deepEqual(await outcome(fx.port, { type: 'execute', name: 'c' }), success);
    const q = (await info(fx.port)).queues.find((x) => x.platform === 'test')!;
    assert.deepEqual(q.jobs.map((j) => j.name), ['c', 'a']);
  });

  test('reschedule sets next and period, and queues the job', async () => {
    const next = new Date('2031-05-06T07:08:09.123Z');
    assert.deepEqual(await outcome(fx.port, { type: 'reschedule', name: 'zzz', next }), failure('unknown job zzz'));
    assert.deepEqual(await outcome(fx.port, { type: 'reschedule', name: 'a', next, period: 'weekly' }), success);
    const e = (await info(fx.port)).schedule.find((s) => s.job.name === 'a')!;
    assert.equal(e.next.toISOString(), next.toISOString());
    assert.equal(e.period, 'weekly');
  });

  test('drop and undrop platforms', async () => {
    assert.deepEqual(await outcome(fx.port, { type: 'drop-platform', platform: 'nowhere' }), failure('unknown platform nowhere'));
    assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'daily', job: job('d', 'gone') }), success);
    assert.deepEqual(await outcome(fx.port, { type: 'drop-platform', platform: 'gone' }), success);
    assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'daily', job: job('e', 'gone') }), failure("platform dropped; can't schedule jobs"));
    let i = await info(fx.port);
    assert.deepEqual(i.droppedPlatforms, ['gone']);
    assert.ok(!i.schedule.some((s) => s.job.name === 'd'));
    assert.ok(!i.queues.some((q) => q.platform === 'gone'));
    assert.deepEqual(await outcome(fx.port, { type: 'undrop-platform', platform: 'nowhere' }), failure('unknown platform nowhere'));
    assert.deepEqual(await outcome(fx.port, { type: 'undrop-platform', platform: 'gone' }), success);
    i = await info(fx.port);
    assert.deepEqual(i.droppedPlatforms, []);
  });

  test('observe of an unknown uuid fails as the original', async () => {
    const uuid = new Uint8Array(16).fill(7);
    assert.deepEqual(await outcome(fx.port, { type: 'observe', uuid }), failure('uuid not found'));
  });

  test('a command that is not a client command gets bad communication', async () => {
    assert.deepEqual(await outcome(fx.port, { type: 'success' }), failure('bad communication'));
  });

  test('a bad job name is refused before it becomes a directory', async () => {
    const r = await outcome(fx.port, { type: 'schedule', period: 'daily', job: job('../etc') });
    assert.equal(r.type, 'failure');
  });
});

describe('worker conversation', () => {
  let fx: Fixture;
  before(async () => {
    fx = await startFixture();
  });
  after(() => fx.close());

  test('a job runs, its console is observed live, and the result is written as the original', async () => {
    const w = await workerRequest(fx.port, 'linux');
    assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'never', job: job('build', 'linux', 'make') }), success);
    const js = await w.job();
    assert.deepEqual(js.job, job('build', 'linux', 'make'));
    const uuid = js.uuid;
    await w.sock.send({ type: 'output', uuid, line: enc('first') });
    await w.sock.send({ type: 'output', uuid, line: new Uint8Array([0xff, 0xfe, 0x00]) });

    // A late observer gets the backlog, then live lines, then the result line and Success.
    const observed = clientCall(fx.port, { type: 'observe', uuid });
    await new Promise((r) => setTimeout(r, 100));
    await w.sock.send({ type: 'output', uuid, line: enc('third') });
    await w.sock.send({
      type: 'job-finished',
      uuid,
      result: { type: 'exited', code: 0 },
      files: [{ path: 'bin/app', data: new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0, 1]) }],
    });
    const replies = await observed;
    assert.deepEqual(replies[replies.length - 1], success);
    const lines = replies.slice(0, -1).map((c) => (c as Extract<Cmd, { type: 'output' }>));
    assert.deepEqual(lines.map((l) => Buffer.from(l.line).toString('hex')), [
      Buffer.from('first').toString('hex'),
      'fffe00',
      Buffer.from('third').toString('hex'),
      Buffer.from('exited 0').toString('hex'),
    ]);
    assert.ok(lines.every((l) => typeof l.timestamp === 'bigint'));

    const file = path.join(fx.dir, 'build', uuidToString(uuid), 'full');
    const exec = decodeExec(new Uint8Array(await readFile(file)));
    assert.equal(uuidToString(exec.uuid), uuidToString(uuid));
    assert.deepEqual(exec.result, { type: 'exited', code: 0 });
    // newest first, as the original writes it
    assert.deepEqual(exec.console.map((c) => Buffer.from(c.line).toString('hex')), ['third', 'fffe00', 'first'].map((s) => (s === 'fffe00' ? s : Buffer.from(s).toString('hex'))));
    assert.deepEqual(exec.files.map((f) => [f.path, Buffer.from(f.data).toString('hex')]), [['bin/app', '7f454c460001']]);
    assert.ok(exec.finished.getTime() >= exec.started.getTime());

    // A finished run can still be observed: its console is replayed (from the result file once archived).
    const replay = await clientCall(fx.port, { type: 'observe', uuid });
    assert.equal(dec((replay[replay.length - 2] as Extract<Cmd, { type: 'output' }>).line), 'exited 0');
    // the history entry is durable a moment after the result line went out
    for (let i = 0; i < 100 && fx.server.supervisor.history('build').length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(fx.server.supervisor.history('build').map((h) => h.resultText), ['exited 0']);
  });

  test('lines and the end that reach the server in one read all go to a live observer (the original loses them)', async () => {
    const w = await workerRequest(fx.port, 'burst');
    assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'never', job: job('burst', 'burst') }), success);
    const { uuid } = await w.job();
    await w.sock.send({ type: 'output', uuid, line: enc('backlog') });
    const observer = await connect('127.0.0.1', fx.port);
    try {
      await observer.send({ type: 'client-hello', kind: 'client', version: 13 });
      assert.equal((await observer.next())?.type, 'server-hello');
      await observer.send({ type: 'observe', uuid });
      // the backlog came: the observer is attached, and what follows reaches it live
      assert.equal(dec((await observer.next() as Extract<Cmd, { type: 'output' }>).line), 'backlog');
      const burst: Cmd[] = [
        ...['l1', 'l2', 'l3'].map((l): Cmd => ({ type: 'output', uuid, line: enc(l) })),
        { type: 'job-finished', uuid, result: { type: 'exited', code: 0 }, files: [] },
      ];
      w.sock.socket.write(Buffer.concat(burst.map((c) => frame(encodeCmd(c)))));
      const rest: string[] = [];
      for (let r = await observer.next(); r && r.type === 'output'; r = await observer.next()) rest.push(dec(r.line));
      assert.deepEqual(rest, ['l1', 'l2', 'l3', 'exited 0']);
    } finally {
      observer.destroy();
    }
  });

  test('a JobRequested received with the JobFinished is answered on the same connection (our looping worker keeps it)', async () => {
    const w = await workerRequest(fx.port, 'keep');
    assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'never', job: job('keep-1', 'keep') }), success);
    const first = await w.job();
    assert.equal(first.job.name, 'keep-1');
    const finished = (uuid: Uint8Array): Cmd => ({ type: 'job-finished', uuid, result: { type: 'exited', code: 0 }, files: [] });
    w.sock.socket.write(Buffer.concat([frame(encodeCmd(finished(first.uuid))), frame(encodeCmd({ type: 'job-requested', platform: 'keep' }))]));
    // waiting on the same connection for its next job, with no run of its own any more
    const waiting = () => fx.server.supervisor.infoExtended().workers.filter((x) => x.platform === 'keep' && x.state === 'waiting');
    for (let i = 0; i < 100 && waiting().length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(waiting().map((x) => x.uuid), [null]);
    assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'never', job: job('keep-2', 'keep') }), success);
    const second = await w.job();
    assert.equal(second.job.name, 'keep-2');
    const busy = fx.server.supervisor.infoExtended().workers.filter((x) => x.uuid === uuidToString(second.uuid));
    assert.equal(busy.length, 1, 'one worker connection runs the second job');
    // the JobFinished alone (as the original worker sends it): the conversation ends as the original's does
    await w.sock.send(finished(second.uuid));
    assert.equal(await w.sock.next(), null);
    for (let i = 0; i < 100 && fx.server.supervisor.history('keep-2').length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    for (const name of ['keep-1', 'keep-2']) assert.deepEqual(fx.server.supervisor.history(name).map((h) => h.resultText), ['exited 0'], name);
  });

  test('an artifact path escaping the job directory is refused and recorded as a failure', async () => {
    const w = await workerRequest(fx.port, 'evil');
    assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'never', job: job('evil-job', 'evil') }), success);
    const js = await w.job();
    await w.sock.send({ type: 'job-finished', uuid: js.uuid, result: { type: 'exited', code: 0 }, files: [{ path: '../../escape', data: enc('x') }] });
    await w.sock.closed;
    const exec = decodeExec(new Uint8Array(await readFile(path.join(fx.dir, 'evil-job', uuidToString(js.uuid), 'full'))));
    assert.equal(exec.result.type, 'msg');
    assert.match((exec.result as { message: string }).message, /artifact path refused/);
    assert.deepEqual(exec.files, []);
  });

  test('a worker vanishing mid-job puts the job back in front, and the next worker gets it', async () => {
    assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'daily', job: job('lost', 'flaky') }), success);
    const w1 = await workerRequest(fx.port, 'flaky');
    const first = await w1.job();
    await w1.sock.send({ type: 'output', uuid: first.uuid, line: enc('half way') });
    w1.sock.destroy();
    const w2 = await workerRequest(fx.port, 'flaky');
    const second = await w2.job();
    assert.equal(second.job.name, 'lost');
    assert.equal(uuidToString(second.uuid), uuidToString(first.uuid), 'the requeued run keeps its identity');
    await w2.sock.send({ type: 'job-finished', uuid: second.uuid, result: { type: 'exited', code: 0 }, files: [] });
    await w2.sock.closed;
    const h = fx.server.supervisor.history('lost');
    assert.equal(h.length, 1);
    assert.ok(h[0]!.transitions.some((t) => t.state === 'waiting' && /worker lost/.test(t.note ?? '')));
  });

  test('orb-build jobs become scripts from the platform template', async () => {
    await mkdir(path.join(fx.dir, 'etc'), { recursive: true });
    await writeFile(path.join(fx.dir, 'etc', 'orb-build.template.freebsd'), 'orb build %%OPAM_PACKAGE%% on %%PLATFORM%%\n');
    const w = await workerRequest(fx.port, 'freebsd');
    assert.deepEqual(await outcome(fx.port, { type: 'schedule-orb-build', period: 'weekly', job: { type: 'orb-build', name: 'solo5', opamPackage: 'solo5' } }), success);
    // the orb job is added to existing queues; execute puts it in front of the freebsd one
    assert.deepEqual(await outcome(fx.port, { type: 'execute', name: 'solo5', platform: 'freebsd' }), success);
    const js = await w.job();
    assert.deepEqual(js.job, { type: 'script', name: 'solo5', script: 'orb build solo5 on freebsd\n', platform: 'freebsd' });
    w.sock.destroy();
  });
});
