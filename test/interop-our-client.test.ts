// Our client (`builder <command>`) against the original builder-server: every command, compared with
// the same command against our server where the protocol carries the same thing; info and
// observe-latest fall back to the original's Info; extension-only features fail with one line that
// says what the server lacks and what to use instead, and leave the original server unchanged.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { eventually, runCli, startProc, startServerProcess, startWorkerProcess, stopWorker, type CliResult, type ServerProc } from './helpers/cli-process.ts';
import { originalClient, startOriginalServer, type OriginalServer } from './helpers/peer.ts';

let orig: OriginalServer;
let ours: ServerProc;
let work: string;
let script: string;

before(async () => {
  [orig, ours] = await Promise.all([startOriginalServer(), startServerProcess()]);
  work = await mkdtemp(path.join(os.tmpdir(), 'builder-interop-uc-'));
  script = path.join(work, 's.sh');
  await writeFile(script, 'echo hi\n');
});

after(async () => {
  await Promise.all([orig.close(), ours.close()]);
  await rm(work, { recursive: true, force: true });
});

const both = (args: string[]): Promise<[CliResult, CliResult]> =>
  Promise.all([runCli([...args, '-r', orig.remote]), runCli([...args, '-r', ours.remote])]) as Promise<[CliResult, CliResult]>;

/** The same outcome, the address aside. */
function same(a: CliResult, b: CliResult, what: string): void {
  const strip = (r: CliResult) => ({ status: r.status, stdout: r.stdout.replace(/\(in \d+[dhms]( \d+[dhms])?\)|\(now\)/g, '(in …)'), stderr: r.stderr });
  assert.deepEqual(strip(a), strip(b), what);
}

test('the standard commands give the same outcome against the original server as against ours', { timeout: 120_000 }, async () => {
  const steps: string[][] = [
    ['schedule', 'j1', 'plat', script, '--period', 'hourly'],
    ['schedule', 'j1', 'plat', script],
    ['schedule', 'j2', 'other', script],
    ['orb-build', 'o1', 'pkg', '--period', 'weekly'],
    ['schedule', 'j3', 'plat', script, '--json', '--period', 'never'],
    ['execute', 'j1'],
    ['execute', 'o1', '--platform', 'plat'],
    ['execute', 'nope'],
    ['reschedule', 'nope', '2030-01-01T00:00:00Z'],
    ['unschedule', 'nope'],
    ['drop-platform', 'plat'],
    ['drop-platform', 'nope', '--json'],
    ['undrop-platform', 'plat'],
    ['unschedule', 'j3'],
    ['observe', '00000000-0000-4000-8000-000000000000'],
    ['observe-latest'],
    ['observe-latest', '--job', 'j1', '--json'],
  ];
  for (const args of steps) {
    const [a, b] = await both(args);
    if (args.join(' ') === 'execute o1 --platform plat') {
      // difference 6 of docs/INTEROP.md (no template for plat on either server)
      assert.deepEqual([a.status, a.stdout], [0, 'queued o1 to run next on plat\n'], 'the original queues it');
      assert.equal(b.status, 1);
      assert.match(b.stderr, /^builder execute: execute failed: no orb-build template for platform plat: \S+orb-build\.template\.plat\n$/);
      continue;
    }
    same(a, b, args.join(' '));
  }
  // reschedule prints the time given; the original's next time differs (docs/INTEROP.md), not our client's output
  const [a, b] = await both(['reschedule', 'j1', '2030-01-01T00:00:00Z', '--period', 'daily']);
  same(a, b, 'reschedule');
});

test('info, info --json and info --original-format against the original server show what its Info carries', { timeout: 120_000 }, async () => {
  await runCli(['schedule', 'i1', 'iplat', script, '--period', 'daily', '-r', orig.remote]);
  await runCli(['orb-build', 'i2', 'ipkg', '--period', 'weekly', '-r', orig.remote]);
  await runCli(['drop-platform', 'gone', '-r', orig.remote]); // unknown: fails, nothing dropped
  const text = await runCli(['info', '-r', orig.remote]);
  assert.equal(text.status, 0, text.stderr);
  assert.equal(text.stderr, '');
  assert.match(text.stdout, /^SCHEDULE\nNAME +PLATFORM +TRIGGER +NEXT RUN\n/);
  assert.match(text.stdout, /^i1 +iplat +daily +\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \(in (23h 59m|1d)\)$/m);
  assert.match(text.stdout, /^i2 +every \(orb build\) +weekly +/m);
  assert.match(text.stdout, /^iplat +i1, i2$/m);
  assert.match(text.stdout, /\nWORKERS\n\(not reported by this server\)\n/);
  const json = await runCli(['info', '--json', '-r', orig.remote]);
  assert.equal(json.status, 0, json.stderr);
  const info = JSON.parse(json.stdout);
  assert.equal(info.source, 'info');
  const i1 = info.schedule.find((e: { name: string }) => e.name === 'i1');
  assert.deepEqual({ ...i1, next: typeof i1.next }, { name: 'i1', type: 'script', platform: 'iplat', trigger: { type: 'period', period: 'daily' }, next: 'number', timeoutSeconds: 0, catchUp: { type: 'one' }, paused: false, pendingRuns: 0, lastRun: null });
  assert.deepEqual(info.queues.find((q: { platform: string }) => q.platform === 'iplat'), { platform: 'iplat', jobs: ['i1', 'i2'] });
  // --original-format is what the original client prints, except where OCaml's Format breaks a queue's
  // list of jobs (after "; " by its own column count, which literal newlines do not reset)
  const [mine, theirs] = await Promise.all([runCli(['info', '--original-format', '-r', orig.remote]), originalClient(orig.remote, ['info'])]);
  assert.equal(mine.status, 0, mine.stderr);
  const queueBreaks = (t: string) => t.replace(/(\nqueues:\n[\s\S]*\nrunning:)/, (q) => q.replace(/;\n(?=name )/g, '; '));
  assert.equal(queueBreaks(mine.stdout), queueBreaks(theirs.stdout));
});

test('extension-only features against the original server: one line saying what it lacks and what to use, exit 1, nothing changed', { timeout: 120_000 }, async () => {
  const where = orig.remote;
  const cases: [string[], string][] = [
    [['schedule', 'x', 'p', script, '--cron', '0 3 * * *'], 'cron schedules (an original builder-server?); use --period hourly|daily|weekly|never instead'],
    [['schedule', 'x', 'p', script, '--cron', '0 3 * * *', '--tz', 'Europe/Berlin'], 'cron schedules, time zones (an original builder-server?); use --period hourly|daily|weekly|never instead'],
    [['schedule', 'x', 'p', script, '--timeout', '5m'], 'job timeouts (an original builder-server?); leave out --timeout (its jobs time out after one hour)'],
    [['orb-build', 'x', 'pkg', '--catch-up', 'skip'], 'catch-up policies (an original builder-server?); leave out --catch-up (it runs a missed job once)'],
    [['history', 'x'], "job history (an original builder-server?); read the result files <dir>/<job>/<uuid>/full on the server's host with `builder inspect FILE` instead"],
  ];
  for (const [args, tail] of cases) {
    const r = await runCli([...args, '-r', where]);
    assert.equal(r.status, 1, args.join(' '));
    assert.equal(r.stderr, `builder ${args[0]}: the server at ${where} does not support ${tail}\n`);
    assert.equal(r.stdout, '');
    const j = await runCli([...args, '--json', '-r', where]);
    assert.equal(JSON.parse(j.stdout).error.code, 'ERR_CLIENT_UNSUPPORTED');
  }
  const after = await originalClient(where, ['info']);
  assert.doesNotMatch(after.stdout, /name x /);
  // the same commands work on our server
  for (const [args] of cases.slice(0, 4)) {
    const r = await runCli([...args.map((a) => (a === 'x' ? `x${args.length}${args.at(-1)!.length}` : a)), '-r', ours.remote]);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  }
  const h = await runCli(['history', 'nope', '-r', ours.remote]);
  assert.equal(h.stderr, 'builder history: unknown job nope\n');
});

test('observe and observe-latest (and --follow) of a job our worker runs for the original server', { timeout: 120_000 }, async () => {
  const gate = path.join(work, 'gate');
  const watched = path.join(work, 'watched.sh');
  await writeFile(watched, `echo "first line"\nprintf 'bytes \\377\\376 end\\n'\nwhile [ ! -e '${gate}' ]; do sleep 0.05; done\necho "last line"\n`);
  const worker = await startWorkerProcess('obs', orig.remote);
  try {
    const s = await runCli(['schedule', 'watched', 'obs', watched, '--period', 'never', '-r', orig.remote]);
    assert.equal(s.status, 0, s.stderr);
    const uuid = await eventually(async () => {
      const info = JSON.parse((await runCli(['info', '--json', '-r', orig.remote])).stdout);
      return info.runs.find((r: { name: string }) => r.name === 'watched')?.uuid as string | undefined;
    }, 'watched running');
    const observe = startProc(['observe', uuid, '-r', orig.remote]);
    const latest = startProc(['observe-latest', '--platform', 'obs', '-r', orig.remote]);
    const follow = startProc(['observe-latest', '--follow', '--interval', '0.2', '--json', '-r', orig.remote]);
    for (const p of [observe, latest, follow]) await p.waitFor(/first line/, 'stdout');
    await writeFile(gate, '');
    const ends = await Promise.all([observe.exited, latest.exited]);
    for (const [i, p] of [observe, latest].entries()) {
      assert.equal(ends[i]!.status, 0, p.stderr);
      const lines = p.stdout.split('\n').filter(Boolean);
      if (p === latest) assert.equal(lines.shift(), `Observing watched on obs (${uuid})`);
      assert.deepEqual(lines.map((l) => l.replace(/^\S+ /, '')), ['first line', 'bytes \ufffd\ufffd end', 'last line', 'exited 0']);
    }
    await follow.waitFor(/"type":"result"/, 'stdout');
    const events = follow.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.deepEqual(events[0], { type: 'observing', uuid, name: 'watched', platform: 'obs' });
    assert.deepEqual(events.at(-1).result, 'exited 0');
    const stopped = await follow.stop('SIGINT');
    assert.equal(stopped.status, 130);
  } finally {
    await writeFile(gate, '');
    await stopWorker(worker);
  }
});
