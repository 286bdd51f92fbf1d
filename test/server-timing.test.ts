// Periods, timeouts, catch-up after downtime, cron with a time zone across DST, and reschedule,
// driven by an injected clock: hours and weeks pass in milliseconds of real time.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { decodeExec } from '../src/protocol/exec-codec.ts';
import { uuidToString } from '../src/protocol/uuid.ts';
import type { Cmd, ScriptJob } from '../src/protocol/types.ts';
import { TestClock } from '../src/scheduler/clock.ts';
import { clientCall, outcome, startFixture, tempDir, workerRequest, type Fixture } from './helpers/server-fixture.ts';

const HOUR = 3_600_000;
const job = (name: string, platform = 'p'): ScriptJob => ({ type: 'script', name, script: 'true', platform });
const success: Cmd = { type: 'success' };

async function queueOf(port: number, platform: string): Promise<string[]> {
  const r = (await clientCall(port, { type: 'info' }))[0] as Extract<Cmd, { type: 'info-reply' }>;
  return r.info.queues.find((q) => q.platform === platform)?.jobs.map((j) => j.name) ?? [];
}

async function settle(clock: TestClock): Promise<void> {
  await clock.settle();
  await new Promise((r) => setTimeout(r, 20));
}

async function runOnce(port: number, platform: string): Promise<string> {
  const w = await workerRequest(port, platform);
  const js = await w.job();
  await w.sock.send({ type: 'job-finished', uuid: js.uuid, result: { type: 'exited', code: 0 }, files: [] });
  await w.sock.closed;
  return js.job.name;
}

describe('time', () => {
  const fixtures: Fixture[] = [];
  after(async () => {
    for (const f of fixtures) await f.close();
  });

  test('an hourly job is queued again when its hour has passed, as the original does', async () => {
    const clock = new TestClock(Date.UTC(2024, 0, 1, 12));
    const fx = await startFixture({ clock });
    fixtures.push(fx);
    assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'hourly', job: job('h') }), success);
    assert.equal(await runOnce(fx.port, 'p'), 'h');
    assert.deepEqual(await queueOf(fx.port, 'p'), []);
    clock.advance(HOUR - 1);
    await settle(clock);
    assert.deepEqual(await queueOf(fx.port, 'p'), []);
    clock.advance(1);
    await settle(clock);
    assert.deepEqual(await queueOf(fx.port, 'p'), ['h']);
    const next = fx.server.supervisor.schedule.get('h')!.next;
    assert.equal(next, Date.UTC(2024, 0, 1, 14));
  });

  test('a job past its timeout is recorded as "timeout", its worker closed, and the job queued again', async () => {
    const clock = new TestClock(Date.UTC(2024, 0, 1));
    const fx = await startFixture({ clock, defaultTimeoutSeconds: 3600 });
    fixtures.push(fx);
    assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'daily', job: job('slow', 't') }), success);
    const w = await workerRequest(fx.port, 't');
    const js = await w.job();
    clock.advance(HOUR);
    await w.sock.closed;
    await settle(clock);
    // the result is written, then recorded, a moment after the worker's connection is closed
    for (let i = 0; i < 100 && fx.server.supervisor.history('slow').length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const exec = decodeExec(new Uint8Array(await readFile(path.join(fx.dir, 'slow', uuidToString(js.uuid), 'full'))));
    assert.deepEqual(exec.result, { type: 'msg', message: 'timeout' });
    assert.equal(exec.finished.getTime() - exec.started.getTime(), HOUR);
    assert.deepEqual(await queueOf(fx.port, 't'), ['slow']);
    assert.equal(fx.server.supervisor.history('slow')[0]!.resultText, 'execution aborted: timeout');
  });

  test('a run requeued by a restart keeps its identity and gets a fresh absolute deadline', async () => {
    const clock = new TestClock(Date.UTC(2024, 0, 1));
    const fx = await startFixture({ clock });
    fixtures.push(fx);
    assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'daily', job: job('r', 'rr') }), success);
    const w = await workerRequest(fx.port, 'rr');
    await w.job();
    await fx.restart();
    w.sock.destroy();
    // The run was requeued on start; a new worker gets it with a fresh deadline from its assignment.
    const w2 = await workerRequest(fx.port, 'rr');
    const js2 = await w2.job();
    const ctx = fx.server.supervisor.runContext(uuidToString(js2.uuid))!.context;
    assert.equal(ctx.deadline, clock.now() + HOUR);
    // a clean stop requeues the run as it closes the connection ('server stopped'); a crash, on start ('server restarted')
    assert.ok(ctx.transitions.some((t) => /^server (stopped|restarted)$/.test(t.note ?? '')), JSON.stringify(ctx.transitions));
    w2.sock.destroy();
  });

  test('catch-up after a week of downtime: one run by default, every run up to a bound, or none', async () => {
    const clock = new TestClock(Date.UTC(2024, 0, 1));
    const dir = await tempDir();
    const fx = await startFixture({ clock, dir });
    fixtures.push(fx);
    const sched = (name: string, catchUp: any) =>
      outcome(fx.port, { type: 'schedule-extended', schedule: { job: job(name, 'c'), period: 'hourly', catchUp } });
    assert.deepEqual(await sched('one', { type: 'one' }), success);
    assert.deepEqual(await sched('all', { type: 'all', max: 3 }), success);
    assert.deepEqual(await sched('skip', { type: 'skip' }), success);
    for (let i = 0; i < 3; i++) await runOnce(fx.port, 'c');
    await fx.server.close();
    clock.advance(7 * 24 * HOUR + HOUR / 2);
    await fx.restart();
    await settle(clock);
    assert.deepEqual((await queueOf(fx.port, 'c')).sort(), ['all', 'one']);
    assert.equal(fx.server.supervisor.schedule.get('all')!.pendingRuns, 2);
    assert.equal(fx.server.supervisor.schedule.get('skip')!.next, clock.now() + HOUR);
    // the owed runs of 'all' follow one after another
    const names: string[] = [];
    for (let i = 0; i < 4; i++) names.push(await runOnce(fx.port, 'c'));
    assert.deepEqual(names.sort(), ['all', 'all', 'all', 'one']);
  });

  test('cron in Europe/Berlin across the spring-forward and fall-back days', async () => {
    const clock = new TestClock(Date.parse('2024-03-30T12:00:00Z'));
    const fx = await startFixture({ clock });
    fixtures.push(fx);
    const r = await outcome(fx.port, {
      type: 'schedule-extended',
      schedule: { job: job('berlin', 'b'), cron: '30 2 * * *', timeZone: 'Europe/Berlin' },
    });
    assert.deepEqual(r, success);
    // 02:30 does not exist on 2024-03-31 in Berlin; the run is shifted by the gap, to 03:30 CEST (01:30Z).
    const first = fx.server.supervisor.schedule.get('berlin')!.next!;
    assert.equal(new Date(first).toISOString(), '2024-03-31T01:30:00.000Z');
    clock.advanceTo(first);
    await settle(clock);
    assert.deepEqual(await queueOf(fx.port, 'b'), ['berlin']);
    assert.equal(new Date(fx.server.supervisor.schedule.get('berlin')!.next!).toISOString(), '2024-04-01T00:30:00.000Z');

    const r2 = await outcome(fx.port, {
      type: 'schedule-extended',
      schedule: { job: job('fallback', 'b'), cron: '0 1 * * *', timeZone: 'America/New_York' },
    });
    assert.deepEqual(r2, success);
    clock.advanceTo(Date.parse('2024-11-02T12:00:00Z'));
    await settle(clock);
    const e = fx.server.supervisor.schedule.get('fallback')!;
    // 01:00 happens twice on 2024-11-03 in New York; it runs once, at the first (EDT, 05:00Z).
    assert.equal(new Date(e.next!).toISOString(), '2024-11-03T05:00:00.000Z');
    clock.advanceTo(Date.parse('2024-11-03T05:00:00Z'));
    await settle(clock);
    assert.equal(new Date(fx.server.supervisor.schedule.get('fallback')!.next!).toISOString(), '2024-11-04T06:00:00.000Z');
  });

  test('reschedule moves the next run and a never job stays put', async () => {
    const clock = new TestClock(Date.UTC(2024, 5, 1));
    const fx = await startFixture({ clock });
    fixtures.push(fx);
    assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'never', job: job('once', 'n') }), success);
    assert.equal(await runOnce(fx.port, 'n'), 'once');
    clock.advance(30 * 24 * HOUR);
    await settle(clock);
    assert.deepEqual(await queueOf(fx.port, 'n'), []);
    const next = new Date(clock.now() + 2 * HOUR);
    assert.deepEqual(await outcome(fx.port, { type: 'reschedule', name: 'once', next, period: 'daily' }), success);
    assert.equal(await runOnce(fx.port, 'n'), 'once'); // reschedule queues at once, as the original
    clock.advance(2 * HOUR);
    await settle(clock);
    assert.deepEqual(await queueOf(fx.port, 'n'), ['once']);
    assert.equal(fx.server.supervisor.schedule.get('once')!.next, clock.now() + 24 * HOUR);
  });
});
