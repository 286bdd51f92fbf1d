// Every client command end to end: real `builder` processes against a real `builder server` process over TCP,
// text output and --json output parsed back, the alias builder-client, BUILDER_REMOTE and -r forms.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CLIENT_ALIAS, runCli, startServerProcess, type ServerProc } from './helpers/cli-process.ts';

let server: ServerProc;
let work: string;
let script: string;

before(async () => {
  server = await startServerProcess();
  work = await mkdtemp(path.join(os.tmpdir(), 'builder-cli-files-'));
  script = path.join(work, 'job.sh');
  await writeFile(script, 'echo hello\n');
});

after(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

const cli = (...args: string[]) => runCli([...args, '-r', server.remote]);
const json = async (...args: string[]) => {
  const r = await cli(...args, '--json');
  assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout);
};
const info = () => json('info');
const entry = async (name: string) => (await info()).schedule.find((e: { name: string }) => e.name === name);

test('schedule FILE with the default period, then info shows it as a table and as JSON', { timeout: 30_000 }, async () => {
  const before = Date.now();
  const r = await cli('schedule', 'daily-job', 'linux', script);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'scheduled daily-job on linux, daily\n');
  const e = await entry('daily-job');
  assert.deepEqual(e.trigger, { type: 'period', period: 'daily' });
  assert.equal(e.platform, 'linux');
  assert.equal(e.type, 'script');
  assert.ok(e.next >= before + 86_400_000 && e.next <= Date.now() + 86_400_000, String(e.next));
  const i = await info();
  assert.equal(i.source, 'info-extended');
  assert.deepEqual(i.queues.find((q: { platform: string }) => q.platform === 'linux').jobs.includes('daily-job'), true);

  const text = await cli('info');
  assert.equal(text.status, 0, text.stderr);
  for (const heading of ['SCHEDULE', 'QUEUES', 'RUNNING', 'WORKERS', 'DROPPED PLATFORMS']) assert.match(text.stdout, new RegExp(`^${heading}$`, 'm'));
  const row = text.stdout.split('\n').find((l) => l.startsWith('daily-job '));
  assert.ok(row, text.stdout);
  assert.match(row, /\blinux\s+daily\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \(in (23h 59m|1d)\)\s+1h\s+-$/);
  assert.match(text.stdout, /^linux\s+.*daily-job/m);
  assert.doesNotMatch(text.stdout, /\x1b\[/, 'no colour when stdout is not a terminal');
});

test('schedule --json, and the extensions --cron --tz --timeout --catch-up', { timeout: 30_000 }, async () => {
  const plain = await json('schedule', 'json-job', 'linux', script, '--period', 'hourly');
  assert.deepEqual(plain, { ok: true, command: 'schedule', name: 'json-job', platform: 'linux', period: 'hourly', extended: false });
  assert.deepEqual((await entry('json-job')).trigger, { type: 'period', period: 'hourly' });

  const ext = await json('schedule', 'cron-job', 'linux', script, '--cron', '0 3 * * *', '--tz', 'Europe/Berlin', '--timeout', '30m', '--catch-up', 'all:5');
  assert.equal(ext.extended, true);
  assert.equal(ext.cron, '0 3 * * *');
  const e = await entry('cron-job');
  assert.deepEqual(e.trigger, { type: 'cron', expr: '0 3 * * *', timeZone: 'Europe/Berlin' });
  assert.equal(e.timeoutSeconds, 1800);
  assert.deepEqual(e.catchUp, { type: 'all', max: 5 });
  const berlinHour = Number(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', hourCycle: 'h23' }).format(new Date(e.next)));
  assert.equal(berlinHour, 3);
  // a cron job waits for its time: not queued
  assert.ok(!(await info()).queues.some((q: { jobs: string[] }) => q.jobs.includes('cron-job')));

  const timeoutOnly = await json('schedule', 'timeout-job', 'linux', script, '--timeout', '90');
  assert.equal(timeoutOnly.extended, true);
  assert.equal((await entry('timeout-job')).timeoutSeconds, 90);
  assert.deepEqual((await entry('timeout-job')).trigger, { type: 'period', period: 'daily' });
});

test('a Failure from the server: its message on one line, exit 1, and {"ok":false} with --json', { timeout: 30_000 }, async () => {
  const r = await cli('schedule', 'daily-job', 'linux', script);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, 'builder schedule: job name already used\n');
  assert.equal(r.stdout, '');
  const j = await cli('schedule', 'daily-job', 'linux', script, '--json');
  assert.equal(j.status, 1);
  assert.deepEqual(JSON.parse(j.stdout), { ok: false, error: { code: 'ERR_CLIENT_SERVER_FAILURE', message: 'job name already used' } });
  const bad = await cli('schedule', 'bad-cron', 'linux', script, '--cron', 'not a cron');
  assert.equal(bad.status, 1);
  assert.equal(bad.stderr.split('\n').length, 2, bad.stderr);
});

test('reschedule NAME RFC3339 [--period P]', { timeout: 30_000 }, async () => {
  const r = await cli('reschedule', 'json-job', '2031-02-03T04:05:06Z', '--period', 'weekly');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^rescheduled json-job: next run 2031-02-03 04:05:06Z \(in \d+d \d+h\), weekly\n$/);
  const e = await entry('json-job');
  assert.equal(e.next, Date.parse('2031-02-03T04:05:06Z'));
  assert.deepEqual(e.trigger, { type: 'period', period: 'weekly' });
  const j = await json('reschedule', 'json-job', '2031-02-03T05:05:06+01:00');
  assert.deepEqual(j, { ok: true, command: 'reschedule', name: 'json-job', next: '2031-02-03T04:05:06.000Z', period: null });
  assert.deepEqual((await entry('json-job')).trigger, { type: 'period', period: 'weekly' });
  const unknown = await cli('reschedule', 'nope', '2031-02-03T04:05:06Z');
  assert.equal(unknown.status, 1);
  assert.equal(unknown.stderr, 'builder reschedule: unknown job nope\n');
});

test('execute NAME [--platform P]', { timeout: 30_000 }, async () => {
  const j = await json('execute', 'daily-job');
  assert.deepEqual(j, { ok: true, command: 'execute', name: 'daily-job', platform: null });
  assert.equal((await info()).queues.find((q: { platform: string }) => q.platform === 'linux').jobs[0], 'daily-job');
  const wrong = await cli('execute', 'daily-job', '--platform', 'freebsd');
  assert.equal(wrong.status, 1);
  assert.equal(wrong.stderr, 'builder execute: execute failed: job is for a different platform: linux\n');
  const unknown = await cli('execute', 'nope');
  assert.equal(unknown.status, 1);
  assert.equal(unknown.stderr, 'builder execute: unknown job nope\n');
});

test('orb-build NAME OPAM [--period P]', { timeout: 30_000 }, async () => {
  const j = await json('orb-build', 'orb-job', 'albatross', '--period', 'weekly');
  assert.deepEqual(j, { ok: true, command: 'orb-build', name: 'orb-job', opamPackage: 'albatross', period: 'weekly', extended: false });
  const e = await entry('orb-job');
  assert.equal(e.type, 'orb-build');
  assert.equal(e.platform, null);
  const text = await cli('info');
  assert.match(text.stdout, /^orb-job\s+every \(orb build\)\s+weekly/m);
});

test('unschedule NAME', { timeout: 30_000 }, async () => {
  await json('schedule', 'gone-job', 'linux', script);
  const r = await cli('unschedule', 'gone-job');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'unscheduled gone-job\n');
  assert.equal(await entry('gone-job'), undefined);
  assert.ok(!(await info()).queues.some((q: { jobs: string[] }) => q.jobs.includes('gone-job')));
  const again = await cli('unschedule', 'gone-job', '--json');
  assert.equal(again.status, 1);
  assert.equal(JSON.parse(again.stdout).error.message, 'unknown job gone-job');
});

test('drop-platform and undrop-platform', { timeout: 30_000 }, async () => {
  await json('schedule', 'bsd-job', 'freebsd', script);
  assert.deepEqual(await json('drop-platform', 'freebsd'), { ok: true, command: 'drop-platform', platform: 'freebsd' });
  const i = await info();
  assert.deepEqual(i.dropped, ['freebsd']);
  assert.equal(await entry('bsd-job'), undefined);
  const refused = await cli('schedule', 'bsd-job2', 'freebsd', script);
  assert.equal(refused.status, 1);
  assert.equal(refused.stderr, "builder schedule: platform dropped; can't schedule jobs\n");
  const text = await cli('info');
  assert.match(text.stdout, /^DROPPED PLATFORMS\nfreebsd$/m);
  const orig = await cli('info', '--original-format');
  assert.match(orig.stdout, /^dropped platforms: freebsd$/m);
  const r = await cli('undrop-platform', 'freebsd');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'platform freebsd accepted again\n');
  assert.deepEqual((await info()).dropped, []);
  const again = await cli('undrop-platform', 'freebsd');
  assert.equal(again.status, 1);
  assert.equal(again.stderr, 'builder undrop-platform: unknown platform freebsd\n');
});

test('info --original-format prints what the original client prints', { timeout: 30_000 }, async () => {
  const r = await cli('info', '--original-format');
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], 'info:');
  assert.match(lines[1]!, /^dropped platforms: /);
  assert.equal(lines[2], 'schedule:');
  assert.match(r.stdout, /^name daily-job on linux next \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-00:00, scheduled daily;?$/m);
  assert.match(r.stdout, /^name orb-job, opam albatross next .*, scheduled weekly;?$/m);
  assert.match(r.stdout, /^queues:\n(.*\n)*linux: name daily-job on linux; /m);
  const j = await json('info', '--original-format');
  assert.ok(Array.isArray(j.schedule) && Array.isArray(j.droppedPlatforms), JSON.stringify(j));
});

test('history NAME of a job without runs', { timeout: 30_000 }, async () => {
  assert.deepEqual(await json('history', 'daily-job'), []);
  const r = await cli('history', 'daily-job');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'HISTORY OF daily-job\n(none)\n');
});

test('an unknown job is "unknown job NAME" in every command, history included (exit 1)', { timeout: 30_000 }, async () => {
  for (const args of [['history', 'nope'], ['unschedule', 'nope'], ['execute', 'nope'], ['reschedule', 'nope', '2031-02-03T04:05:06Z']]) {
    const r = await cli(...args);
    assert.equal(r.status, 1, args.join(' '));
    assert.equal(r.stderr, `builder ${args[0]}: unknown job nope\n`);
  }
});

test('the alias builder-client, BUILDER_REMOTE, and -r with a host name', { timeout: 30_000 }, async () => {
  const viaAlias = await runCli(['info', '--json'], { bin: CLIENT_ALIAS, env: { BUILDER_REMOTE: server.remote } });
  assert.equal(viaAlias.status, 0, viaAlias.stderr);
  assert.ok(JSON.parse(viaAlias.stdout).schedule.some((e: { name: string }) => e.name === 'daily-job'));
  const aliasSchedule = await runCli(['schedule', 'alias-job', 'linux', script, '--remote', server.remote], { bin: CLIENT_ALIAS });
  assert.equal(aliasSchedule.status, 0, aliasSchedule.stderr);
  assert.ok(await entry('alias-job'));
  const byName = await runCli(['info', '--json', '-r', `localhost:${server.port}`]);
  assert.equal(byName.status, 0, byName.stderr);
  const viaClientCmd = await runCli(['client', 'unschedule', 'alias-job', '-r', server.remote]);
  assert.equal(viaClientCmd.status, 0, viaClientCmd.stderr);
  // -r wins over BUILDER_REMOTE
  const both = await runCli(['info', '--json', '-r', server.remote], { env: { BUILDER_REMOTE: '127.0.0.1:1' } });
  assert.equal(both.status, 0, both.stderr);
});
