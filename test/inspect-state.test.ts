// `builder inspect --state DIR` against the directory of a running server process, with actors in several
// states: a run going on a worker (running) and that worker (busy), a worker waiting for work (waiting),
// and a run put back in its queue after its worker was killed (waiting again, with the reason).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { eventually, runCli, startServerProcess, startWorkerProcess, stopWorker, type Proc, type ServerProc } from './helpers/cli-process.ts';

let server: ServerProc;
let work: string;
let gate: string;
const workers: (Proc & { tmp: string })[] = [];

const cli = (...args: string[]) => runCli([...args, '-r', server.remote]);
const inspect = (...args: string[]) => runCli(['inspect', '--state', server.dir, ...args]);
const info = async () => JSON.parse((await cli('info', '--json')).stdout);

before(async () => {
  server = await startServerProcess();
  work = await mkdtemp(path.join(os.tmpdir(), 'builder-inspect-state-'));
  gate = path.join(work, 'gate');
  const script = path.join(work, 'block.sh');
  await writeFile(script, `echo started\nwhile [ ! -e '${gate}' ]; do sleep 0.05; done\necho done\n`);
  for (const [name, platform] of [['block', 'p1'], ['lost', 'p3']]) {
    const r = await cli('schedule', name!, platform!, script, '--period', 'never');
    assert.equal(r.status, 0, r.stderr);
  }
  // p1: a worker running `block`; p2: a worker waiting (nothing to do); p3: a worker killed while running `lost`
  workers.push(await startWorkerProcess('p1', server.remote), await startWorkerProcess('p2', server.remote));
  const doomed = await startWorkerProcess('p3', server.remote);
  await eventually(async () => {
    const i = await info();
    const states = new Set(i.runs.filter((r: { state: string }) => r.state === 'running').map((r: { name: string }) => r.name));
    const waiting = i.workers.some((w: { platform: string; state: string }) => w.platform === 'p2' && w.state === 'waiting');
    return states.has('block') && states.has('lost') && waiting ? true : undefined;
  }, 'block and lost running, a p2 worker waiting');
  doomed.child.kill('SIGKILL');
  await doomed.exited;
  await rm(doomed.tmp, { recursive: true, force: true });
  await eventually(async () => ((await info()).runs.some((r: { name: string; state: string }) => r.name === 'lost' && r.state === 'waiting') ? true : undefined), 'lost requeued');
});

after(async () => {
  await writeFile(gate, '');
  for (const w of workers) await stopWorker(w);
  await server.close();
  await rm(work, { recursive: true, force: true });
});

test('--json: every job and worker actor with its state, context and transitions, read while the server runs', { timeout: 60_000 }, async () => {
  const r = await inspect('--json');
  assert.equal(r.status, 0, r.stderr);
  const v = JSON.parse(r.stdout);
  assert.equal(v.dir, server.dir);
  const live = await info();

  const block = v.jobs.find((j: { context: { jobName: string } }) => j.context.jobName === 'block');
  const blockLive = live.runs.find((x: { name: string }) => x.name === 'block');
  assert.equal(block.id, blockLive.uuid);
  // the store has the run as of its last durable change: the supervisor persists the assignment
  // (with the deadline), and START only with the next change
  assert.ok(['assigned', 'running'].includes(block.state), block.state);
  assert.equal(block.status, 'active');
  assert.equal(block.context.platform, 'p1');
  assert.equal(block.context.deadline, blockLive.deadline);
  assert.equal(block.context.deadline - block.context.assignedAt, 3600 * 1000);
  assert.deepEqual(block.transitions.map((t: { state: string }) => t.state), ['waiting', 'assigned', 'running'].slice(0, block.transitions.length));
  assert.equal(block.transitions[1].note, blockLive.workerId);

  const lost = v.jobs.find((j: { context: { jobName: string } }) => j.context.jobName === 'lost');
  assert.equal(lost.state, 'waiting');
  assert.equal(lost.context.attempts, 1);
  assert.equal(lost.context.deadline, undefined);
  assert.deepEqual(lost.transitions.map((t: { state: string }) => t.state), ['waiting', 'assigned', 'running', 'waiting']);
  assert.match(lost.transitions.at(-1).note, /worker lost/);

  const busy = v.workers.find((w: { state: string; context: { platform?: string } }) => w.context.platform === 'p1' && w.state === 'busy');
  assert.ok(busy, JSON.stringify(v.workers));
  assert.equal(busy.context.uuid, block.id);
  assert.equal(busy.id, block.context.workerId);
  const idle = v.workers.find((w: { context: { platform?: string } }) => w.context.platform === 'p2');
  assert.equal(idle.state, 'waiting');
  assert.deepEqual(idle.transitions.map((t: { state: string }) => t.state), ['handshake', 'idle', 'waiting']);
  assert.ok(!v.workers.some((w: { context: { platform?: string } }) => w.context.platform === 'p3'), 'the killed worker is gone');

  assert.deepEqual(v.running.map((x: { uuid: string }) => x.uuid), [block.id]);
  assert.deepEqual(v.queues.p3, ['lost']);
  for (const a of [...v.jobs, ...v.workers]) for (const t of a.transitions) assert.ok(t.at <= v.now && t.at > v.now - 120_000);
});

test('the table: states, deadlines absolute and relative, recent transitions', { timeout: 60_000 }, async () => {
  const r = await inspect('--transitions', '2');
  assert.equal(r.status, 0, r.stderr);
  const v = JSON.parse((await inspect('--json')).stdout);
  const block = v.jobs.find((j: { context: { jobName: string } }) => j.context.jobName === 'block');
  assert.match(r.stdout, /^JOB RUNS \(2\)$/m);
  assert.match(r.stdout, /^WORKER CONNECTIONS \(2\)$/m);
  assert.match(r.stdout, new RegExp(`^${block.id}\\s+block\\s+p1\\s+(assigned|running)\\s+${block.context.workerId}\\s+1\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ \\((now|\\d+s ago)\\)\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ \\(in (59m( \\d+s)?|1h)\\)\\s+-$`, 'm'));
  assert.match(r.stdout, /^\S+\s+lost\s+p3\s+waiting\s+-\s+1\s+-\s+-\s+-$/m);
  assert.match(r.stdout, /^\S+\s+127\.0\.0\.1:\d+\s+waiting\s+p2\s+-\s+0\s+/m);
  assert.match(r.stdout, /^RECENT TRANSITIONS$/m);
  assert.match(r.stdout, /^  \.\.\. 2 earlier$/m);
  assert.match(r.stdout, /^  \d{4}-.*Z \((now|\d+s ago)\)  waiting  worker lost: /m);
  assert.doesNotMatch(r.stdout, /\x1b\[/);
});

test('--kind and --id select actors; errors are clear', { timeout: 60_000 }, async () => {
  const v = JSON.parse((await inspect('--json')).stdout);
  const workersOnly = JSON.parse((await inspect('--json', '--kind', 'worker')).stdout);
  assert.equal(workersOnly.jobs.length, 0);
  assert.equal(workersOnly.workers.length, v.workers.length);
  const one = JSON.parse((await inspect('--json', '--id', v.jobs[0].id)).stdout);
  assert.deepEqual(one.jobs.map((j: { id: string }) => j.id), [v.jobs[0].id]);
  assert.equal(one.workers.length, 0);

  const unknown = await inspect('--id', 'nope');
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /no actor nope/);
  const missing = await runCli(['inspect', '--state', path.join(work, 'absent')]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no such directory/);
  const notStore = await runCli(['inspect', '--state', work]);
  assert.equal(notStore.status, 1);
  assert.match(notStore.stderr, /cannot open the store/);
  const bad = await inspect('--kind', 'robot');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^builder inspect: .*robot.* \(see builder inspect --state DIR --help\)\n$/);
  const help = await runCli(['inspect', '--state', '.', '--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /read-only/);
});
