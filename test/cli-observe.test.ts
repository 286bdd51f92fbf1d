// observe, observe-latest (--follow), history and info with real runs: a server process, a worker process,
// and jobs held at a gate file so each state is reached without timing assumptions.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { eventually, runCli, startProc, startServerProcess, startWorkerProcess, stopWorker, type Proc, type ServerProc } from './helpers/cli-process.ts';

let server: ServerProc;
let worker: Proc & { tmp: string };
let work: string;
const PLATFORM = 'obs';

before(async () => {
  server = await startServerProcess();
  worker = await startWorkerProcess(PLATFORM, server.remote);
  work = await mkdtemp(path.join(os.tmpdir(), 'builder-cli-observe-'));
});

const gates: string[] = [];

after(async () => {
  for (const g of gates) await writeFile(g, '');
  await stopWorker(worker);
  await server.close();
  await rm(work, { recursive: true, force: true });
});

const cli = (args: string[], env: Record<string, string | undefined> = {}) => runCli([...args, '-r', server.remote], { env });

/** A job that prints, waits for its gate file, prints non-UTF-8 bytes and exits. */
async function gatedJob(name: string): Promise<{ open(): Promise<void>; gate: string }> {
  const gate = path.join(work, `${name}.gate`);
  const file = path.join(work, `${name}.sh`);
  gates.push(gate);
  await writeFile(file, `echo "first line of ${name}"\nwhile [ ! -e '${gate}' ]; do sleep 0.05; done\nprintf 'bytes \\377\\376 end\\n'\necho "last line"\n`);
  const r = await cli(['schedule', name, PLATFORM, file, '--period', 'never']);
  assert.equal(r.status, 0, r.stderr);
  return { gate, open: () => writeFile(gate, '') };
}

async function runningUuid(name: string): Promise<string> {
  return eventually(async () => {
    const r = await cli(['info', '--json']);
    const run = JSON.parse(r.stdout).runs.find((x: { name: string; state: string }) => x.name === name && x.state === 'running');
    return run?.uuid as string | undefined;
  }, `${name} running`);
}

const LINE = /^(\d+\.\d{3}(s|ms|μs)|\d+m\d\ds) /;

test('observe-latest follows the running job to its end; observe replays it; history and info show it', { timeout: 60_000 }, async () => {
  const job = await gatedJob('first');
  const uuid = await runningUuid('first');

  const running = await cli(['info']);
  assert.match(running.stdout, new RegExp(`^${uuid}\\s+first\\s+${PLATFORM}\\s+running\\s+\\S+\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ\\s+\\d+s\\s+.*\\(in (59m|1h)`, 'm'));
  assert.match(running.stdout, new RegExp(`^\\S+\\s+127\\.0\\.0\\.1:\\d+\\s+busy\\s+${PLATFORM}\\s+${uuid}\\s+(now|\\d+s ago)$`, 'm'));

  const watcher = startProc(['observe-latest', '--platform', PLATFORM, '--job', 'first', '-r', server.remote]);
  await watcher.waitFor(/first line of first\n/, 'stdout');
  await job.open();
  const end = await watcher.exited;
  assert.equal(end.status, 0, watcher.stderr);
  const lines = watcher.stdout.split('\n');
  assert.equal(lines[0], `Observing first on ${PLATFORM} (${uuid})`);
  assert.match(lines[1]!, LINE);
  assert.ok(lines[1]!.endsWith(' first line of first'));
  assert.ok(lines.at(-2)!.endsWith(' exited 0'), watcher.stdout);
  assert.equal(lines.at(-1), '');

  // the finished run is replayed, bytes as they are
  const replay = await cli(['observe', uuid]);
  assert.equal(replay.status, 0, replay.stderr);
  const text = replay.out.toString('latin1');
  assert.ok(text.includes('bytes \xff\xfe end\n'), JSON.stringify(text));
  const rl = replay.stdout.trimEnd().split('\n');
  assert.deepEqual(rl.map((l) => l.replace(LINE, '')), ['first line of first', 'bytes \ufffd\ufffd end', 'last line', 'exited 0']);
  for (const l of rl) assert.match(l, LINE);

  const json = await cli(['observe', uuid, '--json']);
  assert.equal(json.status, 0);
  const objs = json.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(objs.map((o) => o.type), ['line', 'line', 'line', 'result']);
  assert.equal(objs[0].line, 'first line of first');
  assert.equal(objs[3].result, 'exited 0');
  assert.ok(objs.every((o) => o.uuid === uuid && /^\d+$/.test(o.deltaNs)));
  assert.ok(BigInt(objs[3].deltaNs) >= BigInt(objs[0].deltaNs));

  const hist = await cli(['history', 'first', '--json']);
  const entries = JSON.parse(hist.stdout);
  assert.equal(entries.length, 1);
  assert.equal(entries[0].uuid, uuid);
  assert.equal(entries[0].resultText, 'exited 0');
  assert.deepEqual(entries[0].result, { type: 'exited', code: 0 });
  const histText = await cli(['history', 'first']);
  assert.match(histText.stdout, new RegExp(`^${uuid}\\s+${PLATFORM}\\s+\\d{4}-.*Z \\((now|\\d+s ago)\\)\\s+\\S+\\s+exited 0$`, 'm'));

  const after = await cli(['info']);
  assert.match(after.stdout, /^first\s+obs\s+never\s+never\s+1h\s+exited 0 \((now|\d+s ago)\)$/m);
});

test('observe colours on request (FORCE_COLOR) and never with NO_COLOR', { timeout: 60_000 }, async () => {
  const uuid = JSON.parse((await cli(['history', 'first', '--json'])).stdout)[0].uuid;
  const forced = await cli(['observe', uuid], { FORCE_COLOR: '1' });
  assert.ok(forced.stdout.includes('\x1b[32mexited 0\x1b[39m'), JSON.stringify(forced.stdout));
  assert.match(forced.stdout, /^\x1b\[2m\d+\.\d{3}(s|ms|μs)\x1b\[22m first line of first$/m);
  const always = await cli(['observe', uuid, '--color', 'always']);
  assert.ok(always.stdout.includes('\x1b[32mexited 0'));
  const never = await cli(['observe', uuid, '--color', 'never'], { FORCE_COLOR: '1' });
  assert.doesNotMatch(never.stdout, /\x1b\[/);
  const plain = await cli(['observe', uuid], { NO_COLOR: '1' });
  assert.doesNotMatch(plain.stdout, /\x1b\[/);
});

test('Ctrl-C while observing a running job exits cleanly; the job goes on', { timeout: 60_000 }, async () => {
  const job = await gatedJob('second');
  const uuid = await runningUuid('second');
  const watcher = startProc(['observe', uuid, '-r', server.remote]);
  await watcher.waitFor(/first line of second/, 'stdout');
  const end = await watcher.stop('SIGINT');
  assert.equal(end.status, 130);
  assert.equal(watcher.stderr, '');
  assert.equal(await runningUuid('second'), uuid);
  await job.open();
  await eventually(async () => (JSON.parse((await cli(['history', 'second', '--json'])).stdout)[0]?.resultText as string | undefined), 'second finished');
});

test('observe-latest --follow waits for the next run, follows it, and the next; Ctrl-C ends it', { timeout: 60_000 }, async () => {
  const job = path.join(work, 'third.sh');
  await writeFile(job, 'echo "third says hi"\n');
  const s = await cli(['schedule', 'third', PLATFORM, job, '--period', 'never']);
  assert.equal(s.status, 0, s.stderr);
  await eventually(async () => (JSON.parse((await cli(['history', 'third', '--json'])).stdout).length === 1 ? true : undefined), 'third ran once');

  const follower = startProc(['observe-latest', '--follow', '--job', 'third', '--interval', '0.2', '-r', server.remote]);
  await follower.waitFor(/waiting for the next run/, 'stderr');
  assert.doesNotMatch(follower.stdout, /Observing/, 'a run finished before --follow started is not shown');
  const ex = await cli(['execute', 'third']);
  assert.equal(ex.status, 0, ex.stderr);
  await follower.waitFor(/Observing third on obs \(([0-9a-f-]{36})\)\n(.*\n)*.* exited 0\n/, 'stdout');
  assert.ok(await cli(['execute', 'third']).then((r) => r.status === 0));
  await follower.waitFor(/(Observing third[^\n]*\n(.*\n)*?.* exited 0\n(.*\n)*){2}/, 'stdout');
  const runs = [...follower.stdout.matchAll(/Observing third on obs \(([0-9a-f-]{36})\)/g)].map((m) => m[1]);
  assert.equal(runs.length, 2);
  assert.notEqual(runs[0], runs[1]);
  const end = await follower.stop('SIGINT');
  assert.equal(end.status, 130);
  assert.doesNotMatch(follower.stderr, /error|Error/);
});

test('observe-latest with nothing running fails with the original message', { timeout: 60_000 }, async () => {
  const r = await cli(['observe-latest', '--platform', PLATFORM]);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, `builder observe-latest: No running jobs on platform ${PLATFORM}\n`);
});
