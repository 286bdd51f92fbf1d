// jobd's name space over TCP with our own client, in 9P2000 and 9P2000.u, against the real builder
// server (LMDB store, supervisor) on a TestClock: clone, ctl, cmd, schedule, log, delete, runs,
// queues, workers, and every error path. Jobs run on our real worker (process sandbox).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startNinepFixture, rejectsNinep, until, type NinepFixture } from './helpers/ninep-fixture.ts';
import { outcome, tempDir } from './helpers/server-fixture.ts';
import type { NinepClient } from '../src/ninep/client.ts';
import { OpenMode, NOFID, type Dialect } from '../src/ninep/codec.ts';
import { formatTime } from '../src/ninep/jobd-namespace.ts';
import { Errno } from '../src/errors/ninep-error.ts';

const MINUTE = 60_000;
/** The script job the supervisor holds under `name`. */
const scriptJob = (fx: NinepFixture, name: string) => {
  const job = fx.job(name)?.job;
  return job?.type === 'script' ? job : undefined;
};
/** The first multiple of `step` ms strictly after `t`. */
const nextOf = (t: number, step: number) => Math.floor(t / step) * step + step;

for (const dialect of ['9P2000', '9P2000.u'] as Dialect[]) {
  describe(`jobd name space over ${dialect}`, () => {
    let fx: NinepFixture;
    let c: NinepClient;
    // 9P2000's Rerror has no errno: only the message travels.
    const errno = (n: number) => (dialect === '9P2000' ? 0 : n);

    before(async () => {
      fx = await startNinepFixture();
      c = await fx.connect(dialect);
    });
    after(() => fx.close());

    test('the root holds clone, jobs, queues and workers', async () => {
      assert.deepEqual((await c.list('/')).sort(), ['clone', 'jobs', 'queues', 'workers']);
      const st = await c.statPath('/jobs');
      assert.equal(st.name, 'jobs');
      assert.ok(st.mode & 0x80000000, 'jobs is a directory');
    });

    test('clone creates a stopped builder job; the command keeps its colons and loses one trailing newline', async () => {
      await c.writeFile('/clone', 'backup:*/5 * * * *:tar czf /tmp/x.tgz /etc; echo a:b:c\n');
      assert.ok((await c.list('/jobs')).includes('backup'));
      assert.deepEqual((await c.list('/jobs/backup')).sort(), ['cmd', 'ctl', 'log', 'platform', 'runs', 'schedule']);
      assert.equal(await c.readText('/jobs/backup/cmd'), 'tar czf /tmp/x.tgz /etc; echo a:b:c\n');
      const entry = fx.job('backup');
      assert.deepEqual(entry?.job, { type: 'script', name: 'backup', script: 'tar czf /tmp/x.tgz /etc; echo a:b:c', platform: 'no-platform' });
      assert.deepEqual(entry.trigger, { type: 'cron', expr: '*/5 * * * *' });
      assert.equal(entry.origin, '9p');
      assert.equal(entry.paused, true);
      assert.equal(await c.readText('/jobs/backup/ctl'), 'stopped\n');
      assert.equal(await c.readText('/jobs/backup/schedule'), '*/5 * * * *\n');
      assert.equal(await c.readText('/jobs/backup/platform'), 'no-platform\n');
      assert.equal(await c.readText('/jobs/backup/log'), '');
      assert.deepEqual(await c.list('/jobs/backup/runs'), []);
    });

    test('ctl start shows the next run in schedule; stop hides it', async () => {
      await c.writeFile('/clone', 'tick:*/5 * * * *:true');
      await c.writeFile('/jobs/tick/ctl', 'start\n');
      assert.equal(await c.readText('/jobs/tick/ctl'), 'started\n');
      assert.equal(fx.job('tick')?.paused, false);
      assert.equal(await c.readText('/jobs/tick/schedule'), `*/5 * * * *:${formatTime(nextOf(fx.clock.now(), 5 * MINUTE))}\n`);
      await c.writeFile('/jobs/tick/ctl', 'STOP');
      assert.equal(await c.readText('/jobs/tick/ctl'), 'stopped\n');
      assert.equal(fx.job('tick')?.paused, true);
      assert.equal(await c.readText('/jobs/tick/schedule'), '*/5 * * * *\n');
    });

    test('an extended clone line names the platform; a TZ= prefix names the zone', async () => {
      await c.writeFile('/clone', 'build@freebsd-14:0 3 * * *:make all');
      assert.equal(await c.readText('/jobs/build/platform'), 'freebsd-14\n');
      assert.equal(scriptJob(fx, 'build')?.platform, 'freebsd-14');
      await c.writeFile('/clone', 'berlin:TZ=Europe/Berlin 0 9 * * *:true');
      assert.deepEqual(fx.job('berlin')?.trigger, { type: 'cron', expr: '0 9 * * *', timeZone: 'Europe/Berlin' });
      await c.writeFile('/jobs/berlin/ctl', 'start');
      // 12:00Z is 13:00 in Berlin (CET): the next 09:00 there is 08:00Z the next day.
      assert.equal(await c.readText('/jobs/berlin/schedule'), 'TZ=Europe/Berlin 0 9 * * *:2024-01-02T08:00:00Z\n');
      await c.writeFile('/jobs/berlin/ctl', 'stop');
    });

    test("jobd's 7-field form with seconds, ? and year, and the 6-field form with a year", async () => {
      await c.writeFile('/clone', 'seven:0 0/5 * * * ? *:true');
      await c.writeFile('/jobs/seven/ctl', 'start');
      assert.equal(await c.readText('/jobs/seven/schedule'), `0 0/5 * * * ? *:${formatTime(nextOf(fx.clock.now(), 5 * MINUTE))}\n`);
      await c.writeFile('/clone', 'yearly2030:0 0 1 1 * 2030:true');
      await c.writeFile('/jobs/yearly2030/ctl', 'start');
      assert.equal(await c.readText('/jobs/yearly2030/schedule'), '0 0 1 1 * 2030:2030-01-01T00:00:00Z\n');
      await rejectsNinep(c.writeFile('/clone', 'past:0 0 1 1 * 2020:true'), errno(Errno.EINVAL), /never fires/);
      for (const name of ['seven', 'yearly2030']) await c.writeFile(`/jobs/${name}/ctl`, 'stop');
    });

    test('a job created through 9P runs on a worker and its output appears in its log', async () => {
      await c.writeFile('/clone', 'greet@ninep-run:* * * * *:echo hello from 9p; echo "$((6 * 7))"');
      await c.writeFile('/jobs/greet/ctl', 'start');
      const due = nextOf(fx.clock.now(), MINUTE);
      assert.equal(await c.readText('/jobs/greet/schedule'), `* * * * *:${formatTime(due)}\n`);
      await fx.advanceTo(due);
      assert.equal(await c.readText('/queues/ninep-run'), 'greet\n');
      await fx.runOneJob('ninep-run');
      await fx.finishedRuns('greet', 1);
      assert.equal(await c.readText('/jobs/greet/log'), `${formatTime(due)}:hello from 9p\n42\nexited 0\n`);
      assert.equal(await c.readText('/queues/ninep-run'), '');
      const runs = await c.list('/jobs/greet/runs');
      assert.equal(runs.length, 1);
      assert.equal(runs[0], fx.supervisor.history('greet', 1)[0]!.uuid);
      assert.equal(await c.readText(`/jobs/greet/runs/${runs[0]}/status`), 'exited 0\n');
      assert.equal(await c.readText(`/jobs/greet/runs/${runs[0]}/console`), 'hello from 9p\n42\n');
      assert.equal(await c.readText('/jobs/greet/schedule'), `* * * * *:${formatTime(due + MINUTE)}\n`);
      await c.writeFile('/jobs/greet/ctl', 'stop');
      // Stopped: time passes, nothing is queued.
      await fx.advance(5 * MINUTE);
      assert.equal(await c.readText('/queues/ninep-run'), '');
    });

    test('a job scheduled through the builder protocol shows under /jobs, started', async () => {
      const job = { type: 'script' as const, name: 'from_cli', script: 'echo cli', platform: 'cli-platform' };
      assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'daily', job }), { type: 'success' });
      assert.ok((await c.list('/jobs')).includes('from_cli'));
      assert.equal(await c.readText('/jobs/from_cli/cmd'), 'echo cli\n');
      assert.equal(await c.readText('/jobs/from_cli/ctl'), 'started\n');
      assert.equal(await c.readText('/jobs/from_cli/schedule'), `@daily:${formatTime(fx.clock.now() + 24 * 60 * MINUTE)}\n`);
      assert.equal(await c.readText('/jobs/from_cli/platform'), 'cli-platform\n');
      // A periodic job is queued at once.
      assert.equal(await c.readText('/queues/cli-platform'), 'from_cli\n');
      // 9P can stop it like its own jobs.
      await c.writeFile('/jobs/from_cli/ctl', 'stop');
      assert.equal(fx.job('from_cli')?.paused, true);
      // And a name the builder already uses cannot be cloned.
      await rejectsNinep(c.writeFile('/clone', 'from_cli:@daily:true'), errno(Errno.EEXIST), /job "from_cli" already exists/);
    });

    test('ctl delete and removing the job directory delete a job', async () => {
      await c.writeFile('/clone', 'doomed:@hourly:true');
      await c.writeFile('/jobs/doomed/ctl', 'delete\n');
      assert.equal(fx.job('doomed'), undefined);
      assert.ok(!(await c.list('/jobs')).includes('doomed'));
      await rejectsNinep(c.readText('/jobs/doomed/cmd'), Errno.ENOENT);
      await c.writeFile('/clone', 'doomed2:@hourly:true');
      await c.removePath('/jobs/doomed2');
      assert.equal(fx.job('doomed2'), undefined);
      // The name is free again.
      await c.writeFile('/clone', 'doomed2:@hourly:true');
      assert.equal(await c.readText('/jobs/doomed2/ctl'), 'stopped\n');
      // A job unscheduled through the builder protocol is gone from /jobs as well.
      assert.deepEqual(await outcome(fx.port, { type: 'unschedule', name: 'doomed2' }), { type: 'success' });
      assert.ok(!(await c.list('/jobs')).includes('doomed2'));
    });

    describe('error paths', () => {
      const bad: [string, number, RegExp][] = [
        ['no colons at all', Errno.EINVAL, /expected "name:cron-expression:command"/],
        ['name:* * * * *', Errno.EINVAL, /expected "name:cron-expression:command"/],
        [':* * * * *:true', Errno.EINVAL, /job name is empty/],
        ['@debian-12:* * * * *:true', Errno.EINVAL, /job name is empty/],
        ['bad-name:* * * * *:true', Errno.EINVAL, /invalid job name "bad-name"/],
        ['j@bad platform:* * * * *:true', Errno.EINVAL, /invalid platform "bad platform"/],
        ['j::true', Errno.EINVAL, /cron expression is empty/],
        ['j:* * * * *:', Errno.EINVAL, /command is empty/],
        ['j:* * * * *:  \n', Errno.EINVAL, /command is empty/],
        ['j:not a cron expression:true', Errno.EINVAL, /cron expression "not a cron expression"/],
        ['j:*/0 * * * *:true', Errno.EINVAL, /cron expression "\*\/0 \* \* \* \*"/],
        ['j:0 0 30 2 *:true', Errno.EINVAL, /cron expression "0 0 30 2 \*": never fires/],
        ['j:TZ=Mars/Olympus 0 9 * * *:true', Errno.EINVAL, /unknown time zone "Mars\/Olympus"/],
        ['j:* * * * *:true\nk:* * * * *:true', Errno.EINVAL, /one line/],
      ];
      for (const [line, n, message] of bad) {
        test(`clone refuses ${JSON.stringify(line)}`, async () => {
          await rejectsNinep(c.writeFile('/clone', line), errno(n), message);
          assert.equal(fx.job('j'), undefined);
          assert.equal(fx.job('k'), undefined);
        });
      }

      test('clone refuses invalid UTF-8 and a duplicate name', async () => {
        await rejectsNinep(c.writeFile('/clone', new Uint8Array([0x6a, 0x3a, 0xff, 0x3a, 0x78])), errno(Errno.EINVAL), /UTF-8/);
        await c.writeFile('/clone', 'dup:@daily:true');
        await rejectsNinep(c.writeFile('/clone', 'dup:@hourly:false'), errno(Errno.EEXIST), /job "dup" already exists/);
        assert.equal(scriptJob(fx, 'dup')?.script, 'true');
      });

      test('two connections cloning one name at once: one job, the other gets EEXIST', async () => {
        const other = await fx.connect(dialect);
        for (let i = 0; i < 10; i++) {
          const results = await Promise.allSettled([c.writeFile('/clone', `race${i}:@daily:echo c`), other.writeFile('/clone', `race${i}:@daily:echo other`)]);
          const failed = results.filter((r) => r.status === 'rejected');
          assert.equal(failed.length, 1, `race${i}`);
          await rejectsNinep(Promise.reject(failed[0]!.reason), errno(Errno.EEXIST), new RegExp(`job "race${i}" already exists`));
          const winner = results[0]!.status === 'fulfilled' ? 'echo c' : 'echo other';
          assert.equal(await c.readText(`/jobs/race${i}/cmd`), `${winner}\n`);
        }
      });

      test('clone refuses a platform the builder dropped', async () => {
        const job = { type: 'script' as const, name: 'on_gone', script: 'true', platform: 'gone' };
        assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'daily', job }), { type: 'success' });
        assert.deepEqual(await outcome(fx.port, { type: 'drop-platform', platform: 'gone' }), { type: 'success' });
        await rejectsNinep(c.writeFile('/clone', 'late@gone:@daily:true'), errno(Errno.EINVAL), /platform dropped/);
        assert.equal(fx.job('late'), undefined);
      });

      test('ctl refuses unknown commands, and writes to a deleted job', async () => {
        await c.writeFile('/clone', 'ctltest:@daily:true');
        await rejectsNinep(c.writeFile('/jobs/ctltest/ctl', 'frobnicate\n'), errno(Errno.EINVAL), /unknown ctl command "frobnicate": write start, stop or delete/);
        const fid = await c.walkPath('/jobs/ctltest/ctl');
        await c.open(fid, OpenMode.OWRITE);
        await c.writeFile('/jobs/ctltest/ctl', 'delete');
        await rejectsNinep(c.write(fid, 0n, Buffer.from('start')), errno(Errno.ENOENT), /job "ctltest"/);
        await c.clunk(fid);
        // The same when the builder protocol deletes it under an open fid.
        await c.writeFile('/clone', 'ctltest2:@daily:true');
        const fid2 = await c.walkPath('/jobs/ctltest2/ctl');
        await c.open(fid2, OpenMode.ORDWR);
        assert.deepEqual(await outcome(fx.port, { type: 'unschedule', name: 'ctltest2' }), { type: 'success' });
        await rejectsNinep(c.write(fid2, 0n, Buffer.from('stop')), errno(Errno.ENOENT), /job "ctltest2"/);
        await rejectsNinep(c.read(fid2, 0n, 100), errno(Errno.ENOENT), /job "ctltest2"/);
        await c.clunk(fid2);
      });

      test('read-only files refuse writing, clone refuses reading, directories refuse writing', async () => {
        await c.writeFile('/clone', 'ro:@daily:true');
        for (const f of ['cmd', 'schedule', 'log', 'platform']) {
          await rejectsNinep(c.writeFile(`/jobs/ro/${f}`, 'x'), errno(Errno.EACCES), new RegExp(`${f} is read-only`));
        }
        await rejectsNinep(c.writeFile('/workers', 'x'), errno(Errno.EACCES), /read-only/);
        await rejectsNinep(c.readFile('/clone'), errno(Errno.EACCES), /clone is write-only/);
        const fid = await c.walkPath('/jobs');
        await rejectsNinep(c.open(fid, OpenMode.OWRITE), errno(Errno.EISDIR), /jobs is a directory/);
        await c.clunk(fid);
      });

      test('unknown paths, removing what cannot be removed, creating and renaming are refused', async () => {
        // A walk that stops part way is a short Rwalk: the client reports ENOENT itself.
        await rejectsNinep(c.readText('/jobs/nope/cmd'), Errno.ENOENT, /at nope/);
        await rejectsNinep(c.readText('/nothing'), errno(Errno.ENOENT), /nothing/);
        await rejectsNinep(c.readText('/jobs/ro/runs/00000000-0000-0000-0000-000000000000/status'), Errno.ENOENT);
        await rejectsNinep(c.removePath('/clone'), errno(Errno.EPERM), /clone cannot be removed/);
        await c.writeFile('/clone', 'keep:@daily:true');
        await rejectsNinep(c.removePath('/jobs/keep/cmd'), errno(Errno.EPERM), /cmd cannot be removed/);
        const root = c.allocFid();
        await c.walk(c.rootFid, root, []);
        await rejectsNinep(c.remove(root), errno(Errno.EPERM), /\/ cannot be removed/);
        const jobs = await c.walkPath('/jobs');
        await rejectsNinep(c.rpc({ type: 'Tcreate', fid: jobs, name: 'new', perm: 0o644, mode: 1, extension: '' }), errno(Errno.EPERM), /write a job definition to \/clone/);
        const st = await c.stat(jobs);
        await rejectsNinep(c.rpc({ type: 'Twstat', fid: jobs, stat: { ...st, name: 'renamed' } }), errno(Errno.EPERM), /renamed/);
        await c.clunk(jobs);
        await rejectsNinep(c.rpc({ type: 'Tauth', afid: 99, uname: 'u', aname: '', nUname: NOFID }), errno(Errno.ENOENT), /authentication not required/);
        assert.equal(fx.job('keep')?.name, 'keep');
      });
    });
  });
}

describe('queues, workers and runs of the real scheduler', () => {
  let fx: NinepFixture;
  let c: NinepClient;
  before(async () => {
    fx = await startNinepFixture();
    c = await fx.connect('9P2000.u');
  });
  after(() => fx.close());

  test('queues show the jobs waiting per platform, in queue order', async () => {
    assert.deepEqual(await c.list('/queues'), []);
    for (const name of ['qa', 'qb']) {
      const job = { type: 'script' as const, name, script: 'true', platform: 'queue-test' };
      assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'hourly', job }), { type: 'success' });
    }
    assert.deepEqual(await c.list('/queues'), ['queue-test']);
    assert.equal(await c.readText('/queues/queue-test'), 'qa\nqb\n');
  });

  test('workers shows a waiting worker, then the job it runs, and runs/ the running run', async (t) => {
    assert.equal(await c.readText('/workers'), '');
    const waiting = fx.waitingWorker('idle-test');
    await until(() => fx.supervisor.infoExtended().workers.length === 1, 'the worker to connect');
    const [id] = fx.supervisor.infoExtended().workers.map((w) => w.id);
    assert.match(await c.readText('/workers'), new RegExp(`^${id} idle-test 127\\.0\\.0\\.1:\\d+ waiting\\n$`));
    assert.equal(await waiting.stop(), 0);
    await until(() => fx.supervisor.infoExtended().workers.length === 0, 'the worker to leave');
    assert.equal(await c.readText('/workers'), '');

    // A job that runs until the test lets it finish.
    const dir = await tempDir('builder-ninep-gate-');
    t.after(() => rm(dir, { recursive: true, force: true }));
    const gate = join(dir, 'go');
    await c.writeFile('/clone', `busy@busy-test:* * * * *:echo waiting; while [ ! -e ${gate} ]; do sleep 0.02; done; echo done`);
    await c.writeFile('/jobs/busy/ctl', 'start');
    await fx.advance(MINUTE);
    await c.writeFile('/jobs/busy/ctl', 'stop');
    const worker = fx.runOneJob('busy-test');
    await until(() => fx.supervisor.activeRuns().some((r) => r.console.held().length > 0), 'the job to print');
    const [run] = fx.supervisor.activeRuns();
    assert.match(await c.readText('/workers'), new RegExp(`^\\S+ busy-test 127\\.0\\.0\\.1:\\d+ running busy ${run!.uuid}\\n$`));
    assert.deepEqual(await c.list('/jobs/busy/runs'), [run!.uuid]);
    assert.equal(await c.readText(`/jobs/busy/runs/${run!.uuid}/status`), 'running\n');
    assert.equal(await c.readText(`/jobs/busy/runs/${run!.uuid}/console`), 'waiting\n');
    assert.equal(await c.readText('/jobs/busy/log'), '');
    writeFileSync(gate, '');
    await worker;
    await fx.finishedRuns('busy', 1);
    assert.deepEqual(await c.list('/jobs/busy/runs'), [run!.uuid]);
    assert.equal(await c.readText(`/jobs/busy/runs/${run!.uuid}/status`), 'exited 0\n');
    assert.equal(await c.readText(`/jobs/busy/runs/${run!.uuid}/console`), 'waiting\ndone\n');
    // The worker is gone once the server has seen its connection end.
    await until(() => fx.supervisor.infoExtended().workers.length === 0, 'the worker to leave');
    assert.equal(await c.readText('/workers'), '');
  });

  test('a failing run shows its exit status in log and runs/', async () => {
    await c.writeFile('/clone', 'fails@fail-test:*/15 * * * *:echo about to fail >&2; exit 3');
    await c.writeFile('/jobs/fails/ctl', 'start');
    const due = nextOf(fx.clock.now(), 15 * MINUTE);
    await fx.advanceTo(due);
    await c.writeFile('/jobs/fails/ctl', 'stop');
    await fx.runOneJob('fail-test');
    await fx.finishedRuns('fails', 1);
    assert.equal(await c.readText('/jobs/fails/log'), `${formatTime(due)}:about to fail\nexited 3\n`);
    const [uuid] = await c.list('/jobs/fails/runs');
    assert.equal(await c.readText(`/jobs/fails/runs/${uuid}/status`), 'exited 3\n');
  });

  test('log keeps the last 32 runs, oldest first', async () => {
    await c.writeFile('/clone', 'many@many-test:*/5 * * * *:echo run');
    await c.writeFile('/jobs/many/ctl', 'start');
    const first = nextOf(fx.clock.now(), 5 * 60_000);
    const times: number[] = [];
    for (let i = 0; i < 33; i++) {
      const at = first + i * 5 * MINUTE;
      await fx.advanceTo(at);
      await fx.runOneJob('many-test');
      await fx.finishedRuns('many', i + 1);
      times.push(at);
    }
    await c.writeFile('/jobs/many/ctl', 'stop');
    const expected = times.slice(1).map((t) => `${formatTime(t)}:run\nexited 0\n`).join('');
    assert.equal(await c.readText('/jobs/many/log'), expected);
  });
});

describe('started and stopped across a server restart', () => {
  let fx: NinepFixture;
  before(async () => (fx = await startNinepFixture()));
  after(() => fx.close());

  test('ctl start and stop are persisted', async () => {
    let c = await fx.connect('9P2000.u');
    await c.writeFile('/clone', 'kept_started@p:*/5 * * * *:true');
    await c.writeFile('/clone', 'kept_stopped@p:*/5 * * * *:true');
    await c.writeFile('/jobs/kept_started/ctl', 'start');
    await fx.restart();
    c = await fx.connect('9P2000');
    assert.deepEqual((await c.list('/jobs')).sort(), ['kept_started', 'kept_stopped']);
    assert.equal(await c.readText('/jobs/kept_started/ctl'), 'started\n');
    assert.equal(await c.readText('/jobs/kept_started/schedule'), `*/5 * * * *:${formatTime(nextOf(fx.clock.now(), 5 * MINUTE))}\n`);
    assert.equal(await c.readText('/jobs/kept_stopped/ctl'), 'stopped\n');
    assert.equal(await c.readText('/jobs/kept_stopped/schedule'), '*/5 * * * *\n');
    assert.equal(await c.readText('/jobs/kept_stopped/platform'), 'p\n');
    await c.writeFile('/jobs/kept_started/ctl', 'stop');
    await c.writeFile('/jobs/kept_stopped/ctl', 'start');
    await c.writeFile('/jobs/kept_stopped/ctl', 'delete');
    await fx.restart();
    c = await fx.connect('9P2000.u');
    assert.deepEqual(await c.list('/jobs'), ['kept_started']);
    assert.equal(await c.readText('/jobs/kept_started/ctl'), 'stopped\n');
    assert.equal(fx.job('kept_started')?.origin, '9p');
  });
});
