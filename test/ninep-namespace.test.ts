// jobd's name space over TCP with our own client, in 9P2000 and 9P2000.u, against the in-memory
// backend (test/helpers/ninep-memory-backend.ts): clone, ctl, cmd, schedule, log, delete, runs,
// queues, workers, and every error path. Runs are real `sh -c` processes on a TestClock.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNinepFixture, rejectsNinep, type NinepFixture } from './helpers/ninep-fixture.ts';
import type { NinepClient } from '../src/ninep/client.ts';
import { OpenMode, NOFID, type Dialect } from '../src/ninep/codec.ts';
import { Errno } from '../src/errors/ninep-error.ts';

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

    test('clone creates a stopped job; the command keeps its colons and loses one trailing newline', async () => {
      await c.writeFile('/clone', 'backup:*/5 * * * *:tar czf /tmp/x.tgz /etc; echo a:b:c\n');
      assert.ok((await c.list('/jobs')).includes('backup'));
      assert.deepEqual((await c.list('/jobs/backup')).sort(), ['cmd', 'ctl', 'log', 'platform', 'runs', 'schedule']);
      assert.equal(await c.readText('/jobs/backup/cmd'), 'tar czf /tmp/x.tgz /etc; echo a:b:c\n');
      assert.equal(fx.backend.getJob('backup')?.command, 'tar czf /tmp/x.tgz /etc; echo a:b:c');
      assert.equal(await c.readText('/jobs/backup/ctl'), 'stopped\n');
      assert.equal(await c.readText('/jobs/backup/schedule'), '*/5 * * * *\n');
      assert.equal(await c.readText('/jobs/backup/platform'), 'debian-12\n');
      assert.equal(await c.readText('/jobs/backup/log'), '');
    });

    test('ctl start shows the next run in schedule; stop hides it', async () => {
      await c.writeFile('/clone', 'tick:*/5 * * * *:true');
      await c.writeFile('/jobs/tick/ctl', 'start\n');
      assert.equal(await c.readText('/jobs/tick/ctl'), 'started\n');
      assert.equal(fx.backend.getJob('tick')?.started, true);
      assert.equal(await c.readText('/jobs/tick/schedule'), '*/5 * * * *:2024-01-01T12:05:00Z\n');
      await c.writeFile('/jobs/tick/ctl', 'STOP');
      assert.equal(await c.readText('/jobs/tick/ctl'), 'stopped\n');
      assert.equal(fx.backend.getJob('tick')?.started, false);
      assert.equal(await c.readText('/jobs/tick/schedule'), '*/5 * * * *\n');
    });

    test('a started job runs when due; log holds the last 32 runs oldest first, runs/ each status and console', async () => {
      await c.writeFile('/clone', 'greet:*/5 * * * *:echo hello from 9p');
      await c.writeFile('/jobs/greet/ctl', 'start');
      const base = fx.clock.now();
      fx.clock.advance(5 * 60_000);
      await fx.backend.idle();
      assert.equal(await c.readText('/jobs/greet/log'), '2024-01-01T12:05:00Z:hello from 9p\n');
      const runs = await c.list('/jobs/greet/runs');
      assert.equal(runs.length, 1);
      assert.equal(await c.readText(`/jobs/greet/runs/${runs[0]}/status`), 'exited 0\n');
      assert.equal(await c.readText(`/jobs/greet/runs/${runs[0]}/console`), 'hello from 9p\n');
      for (let i = 2; i <= 34; i++) {
        fx.clock.advanceTo(base + i * 5 * 60_000);
        await fx.backend.idle();
      }
      const lines = (await c.readText('/jobs/greet/log')).trimEnd().split('\n');
      assert.equal(lines.length, 32);
      assert.equal(lines[0], `${new Date(base + 3 * 5 * 60_000).toISOString().replace('.000', '')}:hello from 9p`);
      assert.equal(lines[31], `${new Date(base + 34 * 5 * 60_000).toISOString().replace('.000', '')}:hello from 9p`);
      await c.writeFile('/jobs/greet/ctl', 'stop');
    });

    test('an extended clone line names the platform; a TZ= prefix names the zone', async () => {
      await c.writeFile('/clone', 'build@freebsd-14:0 3 * * *:make all');
      assert.equal(await c.readText('/jobs/build/platform'), 'freebsd-14\n');
      assert.equal(fx.backend.getJob('build')?.platform, 'freebsd-14');
      await c.writeFile('/clone', 'berlin:TZ=Europe/Berlin 0 9 * * *:true');
      await c.writeFile('/jobs/berlin/ctl', 'start');
      // 12:00Z is 13:00 in Berlin (CET): the next 09:00 there is 08:00Z the next day.
      assert.equal(await c.readText('/jobs/berlin/schedule'), 'TZ=Europe/Berlin 0 9 * * *:2024-01-02T08:00:00Z\n');
      await c.writeFile('/jobs/berlin/ctl', 'stop');
    });

    test("jobd's 7-field form with seconds, ? and year, and the 6-field form with a year", async (t) => {
      if (!fx.fullCron) return t.skip('src/scheduler/cron.ts is not in the tree yet');
      await c.writeFile('/clone', 'seven:0 0/5 * * * ? *:true');
      await c.writeFile('/jobs/seven/ctl', 'start');
      assert.equal(await c.readText('/jobs/seven/schedule'), '0 0/5 * * * ? *:2024-01-01T12:05:00Z\n');
      await c.writeFile('/clone', 'yearly2030:0 0 1 1 * 2030:true');
      await c.writeFile('/jobs/yearly2030/ctl', 'start');
      assert.match(await c.readText('/jobs/yearly2030/schedule'), /^0 0 1 1 \* 2030:2030-01-01T\d\d:00:00Z\n$/);
      await rejectsNinep(c.writeFile('/clone', 'past:0 0 1 1 * 2020:true'), errno(Errno.EINVAL), /never/);
      for (const name of ['seven', 'yearly2030']) await c.writeFile(`/jobs/${name}/ctl`, 'stop');
    });

    test('a job the builder scheduled by other means shows under /jobs', async () => {
      await fx.backend.createJob({ name: 'from_cli', cronExpr: '@daily', command: 'echo cli' });
      assert.ok((await c.list('/jobs')).includes('from_cli'));
      assert.equal(await c.readText('/jobs/from_cli/cmd'), 'echo cli\n');
      assert.equal(await c.readText('/jobs/from_cli/schedule'), '@daily\n');
    });

    test('ctl delete and removing the job directory delete a job', async () => {
      await c.writeFile('/clone', 'doomed:@hourly:true');
      await c.writeFile('/jobs/doomed/ctl', 'delete\n');
      assert.equal(fx.backend.getJob('doomed'), undefined);
      assert.ok(!(await c.list('/jobs')).includes('doomed'));
      await rejectsNinep(c.readText('/jobs/doomed/cmd'), Errno.ENOENT);
      await c.writeFile('/clone', 'doomed2:@hourly:true');
      await c.removePath('/jobs/doomed2');
      assert.equal(fx.backend.getJob('doomed2'), undefined);
      // The name is free again.
      await c.writeFile('/clone', 'doomed2:@hourly:true');
      assert.equal(await c.readText('/jobs/doomed2/ctl'), 'stopped\n');
    });

    test('queues and workers show the scheduler state', async () => {
      fx.backend.queueList = [{ platform: 'debian-12', jobs: ['a', 'b'] }, { platform: 'freebsd-14', jobs: [] }];
      fx.backend.workerList = [{ id: 'w1', platform: 'debian-12', remote: '127.0.0.1:4000', state: 'idle' }];
      assert.deepEqual((await c.list('/queues')).sort(), ['debian-12', 'freebsd-14']);
      assert.equal(await c.readText('/queues/debian-12'), 'a\nb\n');
      assert.equal(await c.readText('/queues/freebsd-14'), '');
      assert.equal(await c.readText('/workers'), 'w1 debian-12 127.0.0.1:4000 idle\n');
      await rejectsNinep(c.writeFile('/workers', 'x'), errno(Errno.EACCES), /read-only/);
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
        ['j:0 0 30 2 *:true', Errno.EINVAL, /cron expression "0 0 30 2 \*"/],
        ['j:* * * * *:true\nk:* * * * *:true', Errno.EINVAL, /one line/],
      ];
      for (const [line, n, message] of bad) {
        test(`clone refuses ${JSON.stringify(line)}`, async () => {
          await rejectsNinep(c.writeFile('/clone', line), errno(n), message);
          assert.equal(fx.backend.getJob('j'), undefined);
        });
      }

      test('clone refuses invalid UTF-8 and a duplicate name', async () => {
        await rejectsNinep(c.writeFile('/clone', new Uint8Array([0x6a, 0x3a, 0xff, 0x3a, 0x78])), errno(Errno.EINVAL), /UTF-8/);
        await c.writeFile('/clone', 'dup:@daily:true');
        await rejectsNinep(c.writeFile('/clone', 'dup:@hourly:false'), errno(Errno.EEXIST), /job "dup" already exists/);
        assert.equal(fx.backend.getJob('dup')?.command, 'true');
      });

      test('ctl refuses unknown commands, and writes to a deleted job', async () => {
        await c.writeFile('/clone', 'ctltest:@daily:true');
        await rejectsNinep(c.writeFile('/jobs/ctltest/ctl', 'frobnicate\n'), errno(Errno.EINVAL), /unknown ctl command "frobnicate": write start, stop or delete/);
        const fid = await c.walkPath('/jobs/ctltest/ctl');
        await c.open(fid, OpenMode.OWRITE);
        await c.writeFile('/jobs/ctltest/ctl', 'delete');
        await rejectsNinep(c.write(fid, 0n, Buffer.from('start')), errno(Errno.ENOENT), /job "ctltest"/);
        await c.clunk(fid);
      });

      test('read-only files refuse writing, clone refuses reading, directories refuse writing', async () => {
        await c.writeFile('/clone', 'ro:@daily:true');
        for (const f of ['cmd', 'schedule', 'log', 'platform']) {
          await rejectsNinep(c.writeFile(`/jobs/ro/${f}`, 'x'), errno(Errno.EACCES), new RegExp(`${f} is read-only`));
        }
        await rejectsNinep(c.readFile('/clone'), errno(Errno.EACCES), /clone is write-only/);
        const fid = await c.walkPath('/jobs');
        await rejectsNinep(c.open(fid, OpenMode.OWRITE), errno(Errno.EISDIR), /jobs is a directory/);
        await c.clunk(fid);
      });

      test('unknown paths, removing what cannot be removed, creating and renaming are refused', async () => {
        // A walk that stops part way is a short Rwalk: the client reports ENOENT itself.
        await rejectsNinep(c.readText('/jobs/nope/cmd'), Errno.ENOENT, /at nope/);
        await rejectsNinep(c.readText('/nothing'), errno(Errno.ENOENT), /nothing/);
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
        assert.equal(fx.backend.getJob('keep')?.name, 'keep');
      });
    });
  });
}
