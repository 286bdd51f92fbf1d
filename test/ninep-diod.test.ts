// Debian's diod client tools (9P2000.L, libnpclient) against the real builder server's 9P file
// system: diodls lists /jobs and a job's files, diodcat reads them, including the log and console
// of a run our worker did.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { startNinepFixture, type NinepFixture } from './helpers/ninep-fixture.ts';
import { outcome } from './helpers/server-fixture.ts';

function run(tool: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(tool, args, { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

let fx: NinepFixture;
let server: string[];
let uuid: string;

before(async () => {
  fx = await startNinepFixture();
  server = ['-s', `127.0.0.1:${fx.ninepPort}`, '-t', '10'];
  const c = await fx.connect('9P2000.u');
  await c.writeFile('/clone', 'nightly:TZ=UTC 0 3 * * *:echo nightly: build');
  await c.writeFile('/clone', 'hourly@freebsd-14:@hourly:uname -a');
  await c.writeFile('/jobs/nightly/ctl', 'start');
  // A job the builder protocol scheduled, and one run of a 9P job on our worker.
  const job = { type: 'script' as const, name: 'from_cli', script: 'echo cli', platform: 'cli' };
  assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'weekly', job }), { type: 'success' });
  await c.writeFile('/clone', 'ran@diod-test:*/30 * * * *:echo ran on a worker');
  await c.writeFile('/jobs/ran/ctl', 'start');
  await fx.advance(30 * 60_000);
  await c.writeFile('/jobs/ran/ctl', 'stop');
  await fx.runOneJob('diod-test');
  await fx.finishedRuns('ran', 1);
  uuid = fx.supervisor.history('ran', 1)[0]!.uuid;
});
after(() => fx.close());

test('diodls lists the root and /jobs', async () => {
  const root = await run('diodls', server);
  assert.equal(root.code, 0, root.stderr);
  assert.deepEqual(root.stdout.trim().split('\n').sort(), ['clone', 'jobs', 'queues', 'workers']);
  const jobs = await run('diodls', [...server, '/jobs']);
  assert.equal(jobs.code, 0, jobs.stderr);
  assert.deepEqual(jobs.stdout.trim().split('\n').sort(), ['from_cli', 'hourly', 'nightly', 'ran']);
});

test('diodls -l shows a job directory with modes and sizes', async () => {
  const r = await run('diodls', [...server, '-l', '/jobs/nightly']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const byName = new Map(lines.map((l) => [l.split(/\s+/).at(-1)!, l]));
  assert.deepEqual([...byName.keys()].sort(), ['cmd', 'ctl', 'log', 'platform', 'runs', 'schedule']);
  assert.match(byName.get('cmd')!, /^-r--r--r--/);
  assert.match(byName.get('ctl')!, /^-rw-rw-rw-/);
  assert.match(byName.get('runs')!, /^dr-xr-xr-x/);
  // cmd holds "echo nightly: build\n": 20 bytes.
  assert.match(byName.get('cmd')!, /\s20\s/);
});

test('diodcat reads job files', async () => {
  const r = await run('diodcat', [...server, '/jobs/nightly/cmd', '/jobs/nightly/ctl', '/jobs/nightly/schedule', '/jobs/hourly/platform']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'echo nightly: build\nstarted\nTZ=UTC 0 3 * * *:2024-01-02T03:00:00Z\nfreebsd-14\n');
});

test('diodls lists a run; diodcat reads the log, the run status and console of a job our worker ran', async () => {
  const runs = await run('diodls', [...server, '/jobs/ran/runs']);
  assert.equal(runs.code, 0, runs.stderr);
  assert.equal(runs.stdout, `${uuid}\n`);
  const r = await run('diodcat', [...server, '/jobs/ran/log', `/jobs/ran/runs/${uuid}/status`, `/jobs/ran/runs/${uuid}/console`, '/jobs/from_cli/cmd']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '2024-01-01T12:30:00Z:ran on a worker\nexited 0\nexited 0\nran on a worker\necho cli\n');
});

test('diodcat of a missing job fails with ENOENT', async () => {
  const r = await run('diodcat', [...server, '/jobs/missing/cmd']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /No such file or directory/);
});
