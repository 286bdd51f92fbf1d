// The original builder-client against our server: every command, its output, stderr and exit status
// compared with the same command against the original builder-server, step by step on twin servers.
// Differences are listed explicitly (and in docs/INTEROP.md); nothing else may differ.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { eventually, startServerProcess, startWorkerProcess, stopWorker, type CliResult, type ServerProc } from './helpers/cli-process.ts';
import { originalClient, startOriginal, startOriginalServer, type OriginalServer } from './helpers/peer.ts';

let orig: OriginalServer;
let ours: ServerProc;
let work: string;

before(async () => {
  [orig, ours] = await Promise.all([startOriginalServer(), startServerProcess()]);
  work = await mkdtemp(path.join(os.tmpdir(), 'builder-interop-oc-'));
});

after(async () => {
  await Promise.all([orig.close(), ours.close()]);
  await rm(work, { recursive: true, force: true });
});

/** The original's info lists its schedule in its map's order, ours in schedule order: compare them sorted. */
function sortedSchedule(text: string): string {
  return text.replace(/(\nschedule:\n)([\s\S]*?)(\nqueues:\n)/, (_m, a: string, body: string, c: string) => a + body.split(';\n').sort().join(';\n') + c);
}

const TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-00:00/g;

/** Times are "now + period" on each server, taken a few ms apart: compared apart, within 5 s. */
const view = (r: CliResult) => ({ status: r.status, stdout: sortedSchedule(r.stdout).replace(TIME, '<time>'), stderr: r.stderr });

/** Each job's next time in an info text, by job name. */
function nextTimes(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const [, name, time] of text.matchAll(/^name (\S+?),? .*?next (\S+),/gm)) m.set(name!, Date.parse(time!.replace('-00:00', 'Z')));
  return m;
}

/**
 * The next times agree within 5 s, except where the original is known to differ: after
 * `reschedule NAME NEXT` it shows NEXT + one period (it counts the reschedule's immediate run), ours NEXT.
 */
function sameTimes(a: string, b: string, what: string, shifted: Map<string, number>): void {
  const ta = nextTimes(a);
  const tb = nextTimes(b);
  assert.deepEqual([...ta.keys()].sort(), [...tb.keys()].sort(), what);
  for (const [name, t] of ta) {
    const want = tb.get(name)! + (shifted.get(name) ?? 0);
    assert.ok(Math.abs(t - want) <= 5000, `${what}: ${name} next ${new Date(t).toISOString()} on the original, ${new Date(tb.get(name)!).toISOString()} on ours`);
  }
}

test('every original client command gives the same output, stderr and exit status on our server as on the original', { timeout: 120_000 }, async () => {
  const script = path.join(work, 's.sh');
  await writeFile(script, 'echo hi\n');
  // an orb-build template for plat on both servers, none for other (difference 6 of docs/INTEROP.md)
  await writeFile(path.join(orig.configDir, 'orb-build.template.plat'), 'echo %%OPAM_PACKAGE%%\n');
  await mkdir(path.join(ours.dir, 'etc'), { recursive: true });
  await writeFile(path.join(ours.dir, 'etc', 'orb-build.template.plat'), 'echo %%OPAM_PACKAGE%%\n');
  const noTemplate = `builder-client: execute failed: no orb-build template for platform other: ${path.join(ours.dir, 'etc', 'orb-build.template.other')}\n`;
  // [command, what differs on ours (original text -> ours), if anything]
  const steps: [string[], [string, string]?][] = [
    [['schedule', '--period', 'hourly', 'j1', 'plat', script]],
    [['schedule', 'j1', 'plat', script]], // name in use
    [['schedule', '--period', 'daily', 'j2', 'other', script]],
    [['orb-build', '--period', 'weekly', 'o1', 'pkg']],
    [['info']],
    [['reschedule', '--period', 'hourly', 'j1', '2030-01-01T00:00:00Z']],
    [['reschedule', 'nope', '2030-01-01T00:00:00Z'], ["couldn't find job nope", 'unknown job nope']],
    [['reschedule', 'j1', 'tomorrow']], // the original client's own usage error
    [['execute', 'j1']],
    [['execute', '--platform', 'plat', 'o1']],
    [['execute', 'nope'], ['execute failed: job not found', 'unknown job nope']],
    [['info']],
    [['observe', '00000000-0000-4000-8000-000000000000']],
    [['observe-latest']],
    [['observe-latest', '--job', 'j1', '--platform', 'plat']],
    [['drop-platform', 'plat']],
    [['drop-platform', 'nope']],
    [['info']],
    [['undrop-platform', 'plat']],
    [['undrop-platform', 'plat']],
    [['execute', '--platform', 'other', 'o1']], // ours refuses at once: the original would drop it at dispatch
    [['unschedule', 'o1']],
    [['unschedule', 'o1']],
    [['info']],
  ];
  const seen = new Set<string>();
  const shifted = new Map<string, number>();
  for (const [args, differs] of steps) {
    const [a, b] = await Promise.all([originalClient(orig.remote, args), originalClient(ours.remote, args)]);
    const want = view(a);
    if (args.join(' ') === 'execute --platform other o1') {
      assert.deepEqual(want, { status: 0, stdout: '', stderr: '' }, 'the original queues it');
      Object.assign(want, { status: 124, stderr: noTemplate });
    }
    if (differs) {
      assert.ok(want.stderr.includes(differs[0]), `${args.join(' ')} on the original: ${want.stderr}`);
      want.stderr = want.stderr.replace(differs[0], differs[1]);
    }
    assert.deepEqual(view(b), want, args.join(' '));
    if (args[0] === 'reschedule' && a.status === 0) shifted.set(args.at(-2)!, 3600_000);
    sameTimes(a.stdout, b.stdout, args.join(' '), shifted);
    seen.add(args[0]!);
  }
  assert.deepEqual([...seen].sort(), ['drop-platform', 'execute', 'info', 'observe', 'observe-latest', 'orb-build', 'reschedule', 'schedule', 'undrop-platform', 'unschedule']);
});

test('the original client observes a running job on our server (observe, observe-latest) as on the original server', { timeout: 120_000 }, async () => {
  const gate = path.join(work, 'gate');
  const script = path.join(work, 'watched.sh');
  await writeFile(script, `echo "first line"\nprintf 'bytes \\377\\376 end\\n'\nwhile [ ! -e '${gate}' ]; do sleep 0.05; done\necho "last line"\nexit 3\n`);
  const workers = await Promise.all([startWorkerProcess('obs', orig.remote, []), startWorkerProcess('obs', ours.remote, [])]);
  try {
    for (const remote of [orig.remote, ours.remote]) {
      const r = await originalClient(remote, ['schedule', '--period', 'never', 'watched', 'obs', script]);
      assert.equal(r.status, 0, r.stderr);
    }
    // both running: the original client's info shows the run
    const uuids = await Promise.all(
      [orig.remote, ours.remote].map((remote) =>
        eventually(async () => /^name watched on obs,([0-9a-f-]{36}),/m.exec((await originalClient(remote, ['info'])).stdout)?.[1], `watched running at ${remote}`),
      ),
    );
    const watchers = [orig.remote, ours.remote].flatMap((remote, i) => [
      startOriginal('builder-client', ['observe', uuids[i]!, '-r', remote]),
      startOriginal('builder-client', ['observe-latest', '--job', 'watched', '-r', remote]),
    ]);
    // every watcher is attached (it printed the first line) before the job may end
    for (const w of watchers) await w.waitFor(/first line/, 'stdout');
    await writeFile(gate, '');
    const ends = await Promise.all(watchers.map((w) => w.exited));
    // durations differ run to run: compare the lines after the time stamp
    const lines = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('Observing ')).map((l) => l.replace(/^\S+ /, ''));
    const want = ['first line', 'bytes \ufffd\ufffd end', 'last line', 'exited 3'];
    watchers.forEach((w, i) => {
      assert.equal(ends[i]!.status, 0, w.stderr);
      assert.deepEqual(lines(w.stdout), want, `watcher ${i}: ${w.stdout}`);
      assert.match(w.stdout.split('\n').find((l) => l.endsWith(' first line'))!, /^\d+(\.\d+)?(ns|us|μs|ms|s) first line$/);
      if (i % 2 === 1) assert.equal(w.stdout.split('\n')[0], `Observing watched on obs (${uuids[(i - 1) / 2]})`);
    });
  } finally {
    await writeFile(gate, '');
    await Promise.all(workers.map(stopWorker));
  }
});
