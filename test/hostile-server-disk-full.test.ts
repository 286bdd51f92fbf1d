// Issue 15.11: the data directory on a 3 MiB file system, 3,000 schedules. A schedule whose commit
// fails is not in memory (info), not in the store, and its Failure says the disk is full; once space
// is back the server takes changes again without a restart, and after a restart all three agree.
// A run's end on a full disk: a result file that cannot be written is told as 'disk full' in the run's
// history; a history entry that cannot be saved leaves the run queued again, in memory as the store
// (and so a restart) has it, and it runs and lands once space is back. An upload (--upload) whose
// attempt cannot be saved does not stop the server; one done is not sent again.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import type { Cmd } from '../src/protocol/types.ts';
import { uuidToString } from '../src/protocol/uuid.ts';
import { TestClock } from '../src/scheduler/clock.ts';
import { clientCall, enc, outcome, startFixture, tempDir, workerRequest, type Fixture } from './helpers/server-fixture.ts';
import { fillUp, mountSmall } from './helpers/small-disk.ts';

async function infoNames(port: number): Promise<string[]> {
  const r = (await clientCall(port, { type: 'info' }))[0] as Extract<Cmd, { type: 'info-reply' }>;
  return r.info.schedule.map((s) => s.job.name).sort();
}

test('3,000 schedules on a 3 MiB disk: memory, store and replies agree; space back, the server works again', async (t) => {
  const mnt = await tempDir('builder-small-disk-');
  const skip = mountSmall(mnt);
  if (skip) return t.skip(skip);
  const filler = path.join(mnt, 'filler');
  await writeFile(filler, Buffer.alloc(1024 * 1024));
  const fx = await startFixture({ dir: path.join(mnt, 'data') });
  try {
    const ok: string[] = [];
    const failed: string[] = [];
    for (let i = 0; i < 3000; i += 100) {
      const batch = Array.from({ length: 100 }, (_, k) => `job-${String(i + k).padStart(4, '0')}`);
      const replies = await Promise.all(batch.map((name) => outcome(fx.port, { type: 'schedule', period: 'daily', job: { type: 'script', name, script: 'echo ' + 'x'.repeat(400), platform: 'p' } })));
      replies.forEach((r, k) => {
        if (r.type === 'success') ok.push(batch[k]!);
        else {
          failed.push(batch[k]!);
          assert.equal(r.type, 'failure');
          assert.match((r as Extract<Cmd, { type: 'failure' }>).message, /^disk full: /);
        }
      });
    }
    assert.ok(failed.length > 0, 'the disk filled up');
    assert.ok(ok.length > 0);
    ok.sort();
    assert.deepEqual(await infoNames(fx.port), ok, 'info lists exactly the schedules told Success');
    const stored = (await fx.server.persistence.load()).schedule.map((e) => e.name).sort();
    assert.deepEqual(stored, ok, 'the store holds exactly the schedules told Success');
    // a worker gets only jobs whose schedule was saved
    const queued = fx.server.supervisor.info().queues.flatMap((q) => q.jobs.map((j) => j.name)).sort();
    assert.deepEqual(queued, ok);

    // unschedule and stop on the full disk: a Failure leaves the job as it was, a Success removes it
    for (const name of ok.slice(0, 20)) {
      const r = await outcome(fx.port, { type: 'unschedule', name });
      if (r.type === 'success') ok.splice(ok.indexOf(name), 1);
      else assert.match((r as Extract<Cmd, { type: 'failure' }>).message, /^disk full: /);
    }
    assert.deepEqual(await infoNames(fx.port), ok);
    assert.deepEqual((await fx.server.persistence.load()).schedule.map((e) => e.name).sort(), ok);
    assert.deepEqual(fx.server.supervisor.info().queues.flatMap((q) => q.jobs.map((j) => j.name)).sort(), ok);

    await rm(filler);
    assert.equal((await outcome(fx.port, { type: 'schedule', period: 'daily', job: { type: 'script', name: 'space-back', script: 'true', platform: 'p' } })).type, 'success');
    ok.push('space-back');
    ok.sort();
    await fx.restart();
    assert.deepEqual(await infoNames(fx.port), ok, 'after a restart the same schedules are there');
  } finally {
    await fx.server.close().catch(() => {});
    execFileSync('umount', [mnt]);
    await rm(mnt, { recursive: true, force: true });
  }
});

/**
 * Fills the disk under a server's store so that it takes no change at all: a reader holds a snapshot (as
 * `builder inspect` beside the server may), so the store cannot reuse the pages it frees, and the smallest
 * change there is (one meta record rewritten) uses up the free ones. Returns the reader, to be released
 * once space is back.
 */
async function fillStore(fx: Fixture, mnt: string): Promise<{ done(): void }> {
  const reader = fx.server.persistence.root.useReadTransaction();
  await fillUp(path.join(mnt, 'filler'));
  for (let i = 0, failures = 0; failures < 5 && i < 2000; i++) {
    const ok = await fx.server.persistence.commit({ meta: { 'test:fill': i } }).then(
      () => true,
      () => false,
    );
    failures = ok ? 0 : failures + 1;
  }
  return reader;
}

async function until<T>(what: string, f: () => T | undefined | false, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What memory holds of the job: its queue places and its runs (uuid and state). */
function memoryOf(fx: Fixture, name: string) {
  const i = fx.server.supervisor.infoExtended();
  return {
    queues: i.queues.map((q) => ({ platform: q.platform, jobs: q.jobs.filter((j) => j === name) })),
    runs: i.runs.filter((r) => r.name === name).map((r) => ({ uuid: r.uuid, state: r.state })),
    history: fx.server.supervisor.history(name).map((h) => h.uuid),
  };
}

async function runOnce(fx: Fixture, platform: string, result: Extract<Cmd, { type: 'job-finished' }>['result']) {
  const w = await workerRequest(fx.port, platform);
  const js = await w.job();
  await w.sock.send({ type: 'output', uuid: js.uuid, line: enc('building') });
  await w.sock.send({ type: 'job-finished', uuid: js.uuid, result, files: [{ path: 'bin/x', data: enc('binary') }] });
  return { uuid: uuidToString(js.uuid), sock: w.sock };
}

/** Runs end-job on a worker and fills the store before its end comes: the end cannot be saved and the run is queued again. */
async function endNotSaved(fx: Fixture, mnt: string): Promise<{ uuid: string; reader: { done(): void } }> {
  assert.equal((await outcome(fx.port, { type: 'schedule', period: 'daily', job: { type: 'script', name: 'end-job', script: 'true', platform: 'p' } })).type, 'success');
  const w = await workerRequest(fx.port, 'p');
  const js = await w.job();
  await until('the run to start', () => memoryOf(fx, 'end-job').runs[0]?.state === 'running');
  const reader = await fillStore(fx, mnt);
  await w.sock.send({ type: 'job-finished', uuid: js.uuid, result: { type: 'exited', code: 0 }, files: [] });
  await until('the run queued again', () => memoryOf(fx, 'end-job').queues.some((q) => q.jobs.length > 0));
  w.sock.destroy();
  return { uuid: uuidToString(js.uuid), reader };
}

test('a result file on a full disk: the run is recorded as failed because the disk is full', async (t) => {
  const fx = await startFixture();
  const mnt = path.join(fx.dir, 'res-job');
  await mkdir(mnt);
  const skip = mountSmall(mnt);
  if (skip) {
    await fx.close();
    return t.skip(skip);
  }
  try {
    await fillUp(path.join(mnt, 'filler'));
    assert.equal((await outcome(fx.port, { type: 'schedule', period: 'daily', job: { type: 'script', name: 'res-job', script: 'true', platform: 'p' } })).type, 'success');
    const { uuid, sock } = await runOnce(fx, 'p', { type: 'exited', code: 0 });
    const [h] = await until('the history entry', () => fx.server.supervisor.history('res-job').length > 0 && fx.server.supervisor.history('res-job'));
    sock.destroy();
    assert.equal(h!.uuid, uuid);
    assert.equal(h!.resultPath, undefined, 'no result file');
    const last = h!.transitions[h!.transitions.length - 1]!;
    assert.equal(last.state, 'failed');
    assert.match(last.note ?? '', /^result could not be written: disk full: the result file was not written \(.*\)/);
    assert.equal(existsSync(path.join(mnt, uuid, 'full')), false);
    assert.deepEqual(fx.server.supervisor.infoExtended().runs, []);
    // space back: the next run's result is written
    await rm(path.join(mnt, 'filler'));
    assert.equal((await outcome(fx.port, { type: 'execute', name: 'res-job' })).type, 'success');
    const second = await runOnce(fx, 'p', { type: 'exited', code: 0 });
    const h2 = await until('the second history entry', () => fx.server.supervisor.history('res-job').find((e) => e.uuid === second.uuid));
    second.sock.destroy();
    assert.equal(h2.resultPath, path.join(mnt, second.uuid, 'full'));
    assert.equal(existsSync(h2.resultPath!), true);
  } finally {
    await fx.server.close().catch(() => {});
    execFileSync('umount', [mnt]);
    await rm(fx.dir, { recursive: true, force: true });
  }
});

test("a run's end that cannot be saved: the run is queued again as the store has it; space back, it runs and lands", async (t) => {
  const mnt = await tempDir('builder-small-disk-');
  const skip = mountSmall(mnt);
  if (skip) return t.skip(skip);
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  const fx = await startFixture({ dir: path.join(mnt, 'data') });
  try {
    const { uuid, reader } = await endNotSaved(fx, mnt);
    const held = memoryOf(fx, 'end-job');
    assert.deepEqual(held, { queues: [{ platform: 'p', jobs: ['end-job'] }], runs: [{ uuid, state: 'waiting' }], history: [] }, 'memory: queued again, same run, no history');
    assert.deepEqual(fx.server.supervisor.history('end-job'), [], 'the store has no history entry either');
    assert.equal(existsSync(path.join(fx.dir, 'end-job', uuid, 'full')), false, 'no result file left behind');
    assert.deepEqual(fx.server.supervisor.info().schedule.map((s) => s.job.name), ['end-job']);

    // space back; a restart gives what memory had
    reader.done();
    await rm(path.join(mnt, 'filler'));
    await fx.restart();
    assert.deepEqual(memoryOf(fx, 'end-job'), held, 'after a restart: the same queue, run and history');

    // a worker takes the same run again; its end lands
    const again = await runOnce(fx, 'p', { type: 'exited', code: 0 });
    assert.equal(again.uuid, uuid, 'the same run');
    const h = await until('the history entry', () => fx.server.supervisor.history('end-job').find((e) => e.uuid === uuid));
    again.sock.destroy();
    assert.equal(existsSync(h.resultPath!), true);
    const after = memoryOf(fx, 'end-job');
    assert.deepEqual(after, { queues: [{ platform: 'p', jobs: [] }], runs: [], history: [uuid] });
    await fx.restart();
    assert.deepEqual(memoryOf(fx, 'end-job'), after, 'after a restart: the same');
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await fx.server.close().catch(() => {});
    execFileSync('umount', [mnt]);
    await rm(mnt, { recursive: true, force: true });
  }
});

test("a run's end that cannot be saved without a restart: space back, the queued run is taken and lands", async (t) => {
  const mnt = await tempDir('builder-small-disk-');
  const skip = mountSmall(mnt);
  if (skip) return t.skip(skip);
  const fx = await startFixture({ dir: path.join(mnt, 'data') });
  try {
    const { uuid, reader } = await endNotSaved(fx, mnt);
    reader.done();
    await rm(path.join(mnt, 'filler'));
    const again = await runOnce(fx, 'p', { type: 'exited', code: 0 });
    assert.equal(again.uuid, uuid, 'the same run');
    await until('the history entry', () => fx.server.supervisor.history('end-job').find((e) => e.uuid === uuid));
    again.sock.destroy();
    const after = memoryOf(fx, 'end-job');
    assert.deepEqual(after, { queues: [{ platform: 'p', jobs: [] }], runs: [], history: [uuid] });
    await fx.restart();
    assert.deepEqual(memoryOf(fx, 'end-job'), after, 'a restart gives what memory had');
  } finally {
    await fx.server.close().catch(() => {});
    execFileSync('umount', [mnt]);
    await rm(mnt, { recursive: true, force: true });
  }
});

test('uploads to --upload on a full disk: an attempt that cannot be saved does not stop the server; a done upload is not sent again', async (t) => {
  const mnt = await tempDir('builder-small-disk-');
  const skip = mountSmall(mnt);
  if (skip) return t.skip(skip);
  // the receiving web: each request waits for the test's answer
  const requests: { res: ServerResponse }[] = [];
  const web = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => requests.push({ res }));
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  const answer = (i: number, status: number) => {
    requests[i]!.res.writeHead(status, { 'Content-Type': 'text/plain' });
    requests[i]!.res.end(status === 201 ? '' : 'disk full: the upload was not stored\n');
  };
  const clock = new TestClock(Date.now());
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  const fx = await startFixture({ dir: path.join(mnt, 'data'), clock, upload: `http://127.0.0.1:${(web.address() as AddressInfo).port}/upload` });
  const logs: string[] = [];
  fx.server.bus.on('log', (l) => l.message.startsWith('upload:') && logs.push(l.message));
  let reader: { done(): void } | undefined;
  try {
    for (const name of ['up-a', 'up-b']) {
      assert.equal((await outcome(fx.port, { type: 'schedule', period: 'daily', job: { type: 'script', name, script: 'true', platform: 'p' } })).type, 'success');
      const run = await runOnce(fx, 'p', { type: 'exited', code: 0 });
      await until(`the history of ${name}`, () => fx.server.supervisor.history(name).length === 1);
      run.sock.destroy();
    }
    // one upload at a time: the first waits for its answer
    await until('the first upload', () => (clock.advance(0), requests.length === 1));
    assert.equal(fx.server.persistence.outbox().length, 2);

    reader = await fillStore(fx, mnt);

    // the web refuses the first: its attempt count cannot be saved; the server goes on to the second
    answer(0, 507);
    await until('the second upload', () => requests.length === 2);
    assert.ok(logs.includes('upload: the failed attempt could not be saved'));
    // the web takes the second: the store cannot drop its entry; memory keeps it as the store has it
    answer(1, 201);
    await until('the kept entry', () => logs.includes('upload: the finished upload could not be removed from the store; retrying'));
    assert.equal(fx.server.outbox.pending().length, 2);
    assert.equal(fx.server.persistence.outbox().length, 2);

    // space back: the first is sent again and lands, the second goes without another upload
    reader.done();
    reader = undefined;
    await rm(path.join(mnt, 'filler'));
    clock.advance(10 * 60_000);
    await until('the third upload', () => (clock.advance(0), requests.length === 3));
    answer(2, 201);
    await until('the entries dropped', () => (clock.advance(0), true) && fx.server.outbox.pending().length === 0 && fx.server.persistence.outbox().length === 0);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(requests.length, 3, 'a done upload is not sent again');
    await fx.restart();
    assert.deepEqual(fx.server.outbox.pending(), []);
    assert.deepEqual(unhandled, []);
  } finally {
    reader?.done();
    process.off('unhandledRejection', onUnhandled);
    await fx.server.close().catch(() => {});
    web.closeAllConnections();
    web.close();
    execFileSync('umount', [mnt]);
    await rm(mnt, { recursive: true, force: true });
  }
});
