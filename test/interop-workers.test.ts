// Workers across implementations: the original builder-worker on our server and our worker on the
// original builder-server. The same jobs run on all four pairs (original/our worker x original/our
// server) and their result files must agree: console lines with non-UTF-8 bytes, binary artifacts,
// exit codes, a signalled job. Then a job killed by the server's timeout, and a worker killed mid-job
// (the job goes back to its queue and runs again on the next worker).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decodeExec } from '../src/protocol/exec-codec.ts';
import { ppResult } from '../src/protocol/pretty.ts';
import { BIN, eventually, runCli, startProc, startServerProcess, type Proc, type ServerProc } from './helpers/cli-process.ts';
import { killGroup, startInGroup, startOriginalServer, startOriginalWorker, type OriginalServer } from './helpers/peer.ts';

let orig: OriginalServer;
let ours: ServerProc;
let work: string;
const procs: Proc[] = [];
const gates: string[] = [];

before(async () => {
  [orig, ours] = await Promise.all([startOriginalServer(), startServerProcess()]);
  work = await mkdtemp(path.join(os.tmpdir(), 'builder-interop-w-'));
});

after(async () => {
  for (const g of gates) await writeFile(g, '');
  for (const p of procs) await killGroup(p);
  await Promise.all([orig.close(), ours.close()]);
  await rm(work, { recursive: true, force: true });
});

type Side = 'original' | 'ours';
const servers = () => ({ original: { remote: orig.remote, dir: orig.dir }, ours: { remote: ours.remote, dir: ours.dir } });

function startWorker(kind: Side, platform: string, remote: string, extra: string[] = []): Proc {
  const p = kind === 'original' ? startOriginalWorker(platform, remote) : startInGroup(process.execPath, [BIN, 'worker', platform, '-r', remote, '--tmp', work, ...extra]);
  procs.push(p);
  return p;
}

async function schedule(remote: string, name: string, platform: string, body: string, extra: string[] = []): Promise<void> {
  const file = path.join(work, `${name}.sh`);
  await writeFile(file, body);
  const r = await runCli(['schedule', name, platform, file, '--period', 'never', ...extra, '-r', remote]);
  assert.equal(r.status, 0, r.stderr);
}

interface Outcome {
  console: string[];
  result: string;
  files: Record<string, string>;
}

/** The result files of a job under a server's --dir, decoded (console oldest first, bytes as latin1/hex). */
async function results(dir: string, job: string): Promise<Outcome[]> {
  let uuids: string[];
  try {
    uuids = await readdir(path.join(dir, job));
  } catch {
    return [];
  }
  const out: Outcome[] = [];
  for (const u of uuids) {
    let der: Buffer;
    try {
      der = await readFile(path.join(dir, job, u, 'full'));
    } catch {
      continue;
    }
    const e = decodeExec(der);
    out.push({
      console: [...e.console].reverse().map((l) => Buffer.from(l.line).toString('latin1')),
      result: ppResult(e.result),
      files: Object.fromEntries(e.files.map((f) => [f.path, Buffer.from(f.data).toString('hex')])),
    });
  }
  return out;
}

const oneResult = (dir: string, job: string) => eventually(async () => (await results(dir, job))[0], `a result of ${job} in ${dir}`);

const ARTIFACTS = `printf 'caf\\351 \\377\\376 bytes\\n'
echo plain line
printf '\\000\\001\\002\\377\\200binary' > bin.dat
mkdir sub
echo nested > sub/n.txt
exit 7
`;

const ARTIFACTS_OUTCOME: Outcome = {
  console: ['caf\xe9 \xff\xfe bytes', 'plain line'],
  result: 'exited 7',
  files: { 'bin.dat': Buffer.from('\x00\x01\x02\xff\x80binary', 'latin1').toString('hex'), 'sub/n.txt': Buffer.from('nested\n').toString('hex') },
};

test('the same jobs on every pair of worker and server give the same result files (bytes, artifacts, exit code, signal)', { timeout: 120_000 }, async () => {
  const pairs: [Side, Side][] = [['original', 'original'], ['original', 'ours'], ['ours', 'original'], ['ours', 'ours']];
  const got: Record<string, Outcome[]> = {};
  await Promise.all(
    pairs.map(async ([worker, server]) => {
      const s = servers()[server];
      const platform = `w-${worker}-s-${server}`;
      const out: Outcome[] = [];
      for (const [job, body] of [[`art-${platform}`, ARTIFACTS], [`sig-${platform}`, 'echo before\nkill -KILL $$\n']] as const) {
        await schedule(s.remote, job, platform, body);
        const w = startWorker(worker, platform, s.remote);
        const end = await w.exited;
        assert.equal(end.status, 0, `${worker} worker on ${server} server: ${w.stderr}`);
        out.push(await oneResult(s.dir, job));
      }
      got[`${worker} worker, ${server} server`] = out;
    }),
  );
  const want = ARTIFACTS_OUTCOME;
  // A job that kills itself: the original worker runs `sh -ec "timeout 1h ./script.sh"`, whose shell
  // reports the killed child as "Killed" and exit 128+9; ours runs the script itself and reports the signal.
  const signalled: Record<Side, Outcome> = {
    original: { console: ['before', 'Killed'], result: 'exited 137', files: {} },
    ours: { console: ['before'], result: 'signalled 9', files: {} },
  };
  for (const [worker, server] of pairs) {
    const [art, sig] = got[`${worker} worker, ${server} server`]!;
    assert.deepEqual(art, want, `${worker} worker, ${server} server`);
    assert.deepEqual(sig, signalled[worker], `${worker} worker, ${server} server`);
  }
});

test('a job killed by timeout: our server times out the original worker; our worker times out a job of the original server', { timeout: 120_000 }, async () => {
  // our server (the job's timeout 3 s, our extension) and the original worker
  await schedule(ours.remote, 'slow-ow', 'slow-ow', 'echo started\nsleep 60\n', ['--timeout', '3']);
  const ow = startWorker('original', 'slow-ow', ours.remote);
  const timedOut = await eventually(async () => {
    const h = JSON.parse((await runCli(['history', 'slow-ow', '--json', '-r', ours.remote])).stdout);
    return h[0] as { resultText: string } | undefined;
  }, 'the timeout in the history');
  assert.equal(timedOut.resultText, 'execution aborted: timeout');
  await killGroup(ow); // the original worker notices the closed connection only when its job ends
  // as the original server does, the job is put back in its queue
  const info = JSON.parse((await runCli(['info', '--json', '-r', ours.remote])).stdout);
  assert.deepEqual(info.queues.find((q: { platform: string }) => q.platform === 'slow-ow')?.jobs, ['slow-ow']);
  await runCli(['unschedule', 'slow-ow', '-r', ours.remote]);
  // the original server (its own timeout is a fixed hour) and our worker with --timeout 2
  await schedule(orig.remote, 'slow-w', 'slow-w', 'echo started\nsleep 60\n');
  const w = startWorker('ours', 'slow-w', orig.remote, ['--timeout', '2']);
  await w.exited;
  const r = await oneResult(orig.dir, 'slow-w');
  assert.deepEqual(r.console, ['started']);
  assert.match(r.result, /^(signalled 9|signalled 15|execution aborted: .*time.*)$/);
});

test('a worker killed mid-job: the job goes back to its queue and the next worker runs it (both directions)', { timeout: 120_000 }, async () => {
  for (const [worker, server] of [['original', 'ours'], ['ours', 'original']] as [Side, Side][]) {
    const s = servers()[server];
    const name = `killed-${worker}`;
    const gate = path.join(work, `${name}.gate`);
    gates.push(gate);
    await schedule(s.remote, name, name, `echo attempt\nwhile [ ! -e '${gate}' ]; do sleep 0.05; done\necho finished\n`);
    const first = startWorker(worker, name, s.remote);
    await eventually(async () => {
      const info = JSON.parse((await runCli(['info', '--json', '-r', s.remote])).stdout);
      return info.runs.some((r: { name: string }) => r.name === name) || undefined;
    }, `${name} running`);
    await killGroup(first);
    await eventually(async () => {
      const info = JSON.parse((await runCli(['info', '--json', '-r', s.remote])).stdout);
      return info.queues.find((q: { platform: string }) => q.platform === name)?.jobs.includes(name) || undefined;
    }, `${name} back in its queue on the ${server} server`);
    const second = startWorker(worker, name, s.remote);
    await eventually(async () => {
      const info = JSON.parse((await runCli(['info', '--json', '-r', s.remote])).stdout);
      return info.runs.some((r: { name: string }) => r.name === name) || undefined;
    }, `${name} running again`);
    await writeFile(gate, '');
    assert.equal((await second.exited).status, 0, second.stderr);
    const r = await oneResult(s.dir, name);
    assert.deepEqual(r, { console: ['attempt', 'finished'], result: 'exited 0', files: {} }, `${worker} worker on the ${server} server`);
  }
});

// The original server loses an observer's end when a job's last Output and its JobFinished reach it in one read (it
// broadcasts the end before the observer waits again; docs/INTEROP.md). Our worker holds JobFinished back a little
// after a late line; without that, about one such job in seven left its observer waiting forever.
test('observers of jobs our worker runs for the original server see each end, even right after the last line', { timeout: 120_000 }, async () => {
  const w = startWorker('ours', 'late-line', orig.remote, ['--loop']);
  for (let i = 0; i < 8; i++) {
    const name = `late-line-${i}`;
    const gate = path.join(work, `${name}.gate`);
    gates.push(gate);
    await schedule(orig.remote, name, 'late-line', `echo first\nwhile [ ! -e '${gate}' ]; do sleep 0.02; done\necho last\n`);
    const observer = startProc(['observe-latest', '--job', name, '-r', orig.remote]);
    procs.push(observer);
    await observer.waitFor(/ first$/m, 'stdout');
    await writeFile(gate, '');
    const end = await Promise.race([observer.exited, new Promise<'waiting'>((r) => setTimeout(() => r('waiting'), 15_000))]);
    assert.notEqual(end, 'waiting', `job ${i}: the observer never saw the end:\n${observer.stdout}`);
    const lines = observer.stdout.split('\n').filter((l) => l && !l.startsWith('Observing ')).map((l) => l.replace(/^\S+ /, ''));
    assert.deepEqual(lines, ['first', 'last', 'exited 0'], `job ${i}`);
  }
  await killGroup(w);
});

// Our worker's sandboxes change nothing on the wire: the job above in bwrap and in a Docker container
// (the busybox image .ci/start-docker.sh imports) gives the original server the same result file.
const IMAGE = process.env.BUILDER_TEST_IMAGE ?? 'builder-busybox:latest';
const sandboxProblem = (() => {
  for (const [what, cmd, args] of [['bwrap', 'bwrap', ['--ro-bind', '/', '/', 'true']], ['docker', 'docker', ['image', 'inspect', IMAGE]]] as const) {
    const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 20_000 });
    if (r.status !== 0) return `${what} is not usable here (${r.error?.message ?? `exit ${r.status}`}; run bash .ci/setup-system.sh and .ci/start-docker.sh)`;
  }
  return undefined;
})();

test(
  'our worker in the bwrap and docker sandboxes on the original server: the same result file as with the process sandbox',
  { timeout: 120_000, skip: process.env.CI ? false : sandboxProblem },
  async () => {
    assert.equal(sandboxProblem, undefined, 'required under CI');
    for (const [sandbox, extra] of [['bwrap', ['--sandbox', 'bwrap']], ['docker', ['--sandbox', 'docker', '--image', IMAGE]]] as const) {
      const job = `art-sandbox-${sandbox}`;
      await schedule(orig.remote, job, job, ARTIFACTS);
      const w = startWorker('ours', job, orig.remote, [...extra]);
      const end = await w.exited;
      assert.equal(end.status, 0, `our worker (${sandbox}) on the original server: ${w.stderr}`);
      assert.deepEqual(await oneResult(orig.dir, job), ARTIFACTS_OUTCOME, sandbox);
    }
  },
);
