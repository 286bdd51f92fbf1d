// Mixed deployments: original and our workers on our server at once with both clients; the original
// server's --upload into our web; each inspect reading the other's result files; an original server's
// `state` file (every period, orb builds, a dropped platform) imported by our server and served to the
// original client as the original server served it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BIN, eventually, runCli, startProc, startServerProcess, type Proc, type ServerProc } from './helpers/cli-process.ts';
import { freePort, waitForPort } from './helpers/server-process.ts';
import { killGroup, originalClient, runOriginal, startInGroup, startOriginalServer, startOriginalWorker, type OriginalServer } from './helpers/peer.ts';

let work: string;
const procs: Proc[] = [];
const gates: string[] = [];

before(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'builder-interop-d-'));
});

after(async () => {
  for (const g of gates) await writeFile(g, '');
  for (const p of procs) await killGroup(p);
  await rm(work, { recursive: true, force: true });
});

async function scriptFile(name: string, body: string): Promise<string> {
  const file = path.join(work, `${name}.sh`);
  await writeFile(file, body);
  return file;
}

const ARTIFACT = '\x00\x01\x02\xff\x80binary';
const ARTIFACT_JOB = `printf 'line \\377\\n'\nprintf '\\000\\001\\002\\377\\200binary' > bin.dat\n`;

/** The uuids of a job's result files under a server's --dir. */
async function resultUuids(dir: string, job: string): Promise<string[]> {
  try {
    return (await readdir(path.join(dir, job))).filter((u) => /^[0-9a-f-]{36}$/.test(u));
  } catch {
    return [];
  }
}

test('original and our workers on our server at once, jobs scheduled by both clients, seen alike by both', { timeout: 120_000 }, async () => {
  const server = await startServerProcess();
  try {
    const gate = path.join(work, 'mix.gate');
    gates.push(gate);
    const body = `echo "on $(hostname)"\nwhile [ ! -e '${gate}' ]; do sleep 0.05; done\necho done\n`;
    const file = await scriptFile('mix', body);
    // two jobs from each client
    for (const n of ['by-original-1', 'by-original-2']) assert.equal((await originalClient(server.remote, ['schedule', '--period', 'never', n, 'mix', file])).status, 0);
    for (const n of ['by-ours-1', 'by-ours-2']) assert.equal((await runCli(['schedule', n, 'mix', file, '--period', 'never', '-r', server.remote])).status, 0);
    // two original workers take two jobs, then our looping worker the other two
    const originals = [startOriginalWorker('mix', server.remote), startOriginalWorker('mix', server.remote)];
    procs.push(...originals);
    const running = async (n: number) =>
      eventually(async () => {
        const info = JSON.parse((await runCli(['info', '--json', '-r', server.remote])).stdout);
        return info.runs.filter((r: { state: string }) => r.state === 'running').length >= n ? info : undefined;
      }, `${n} runs`);
    await running(2);
    const tmp = path.join(work, 'mix-tmp');
    await mkdir(tmp);
    const ourWorker = startInGroup(process.execPath, [BIN, 'worker', 'mix', '-r', server.remote, '--loop', '--tmp', tmp]);
    procs.push(ourWorker);
    // the last two jobs: ours takes one at a time, so the fourth waits in the queue
    const info = await running(3);
    assert.equal(info.workers.length, 3);
    // both clients see the same running jobs and queue
    const original = await originalClient(server.remote, ['info']);
    for (const r of info.runs) assert.match(original.stdout, new RegExp(`name ${r.name} on mix,${r.uuid},`));
    assert.equal(info.queues.find((q: { platform: string }) => q.platform === 'mix').jobs.length, 1);
    await writeFile(gate, '');
    for (const o of originals) assert.equal((await o.exited).status, 0, o.stderr);
    const done = await eventually(async () => {
      const all = await Promise.all(['by-original-1', 'by-original-2', 'by-ours-1', 'by-ours-2'].map(async (n) => JSON.parse((await runCli(['history', n, '--json', '-r', server.remote])).stdout)[0]));
      return all.every(Boolean) ? all : undefined;
    }, 'all four runs finished');
    for (const h of done) assert.equal(h.resultText, 'exited 0');
    await killGroup(ourWorker);
  } finally {
    await server.close();
  }
});

test('the original server --upload posts results into our web: the build is there, its artifact byte-exact', { timeout: 120_000 }, async () => {
  const webDir = path.join(work, 'web');
  await mkdir(webDir);
  const user = await runCli(['user', `--dir=${webDir}`, 'add', 'uploader', '--unrestricted', '--password=s3cret']);
  assert.equal(user.status, 0, user.stderr);
  const port = await freePort();
  const web = startProc(['web', '--ip=127.0.0.1', `--port=${port}`, `--dir=${webDir}`]);
  procs.push(web);
  await waitForPort(port);
  const orig = await startOriginalServer({ upload: `http://uploader:s3cret@127.0.0.1:${port}/upload` });
  try {
    // under bin/: builder-web lists a build with a main binary as successful
    const job = `mkdir bin\nprintf '\\000\\001\\002\\377\\200binary' > bin/tool\n`;
    assert.equal((await runCli(['schedule', 'uploaded', 'up', await scriptFile('uploaded', job), '--period', 'never', '-r', orig.remote])).status, 0);
    const w = startOriginalWorker('up', orig.remote);
    procs.push(w);
    assert.equal((await w.exited).status, 0, w.stderr);
    const res = await eventually(async () => {
      const r = await fetch(`http://127.0.0.1:${port}/job/uploaded/build/latest/f/bin/tool`);
      return r.status === 200 ? r : undefined;
    }, 'the uploaded build on our web');
    assert.equal(Buffer.from(await res.arrayBuffer()).toString('latin1'), ARTIFACT);
    // an upload that worked is not kept on the original's disk
    assert.deepEqual(await resultUuids(orig.dir, 'uploaded'), []);
  } finally {
    await orig.close();
    await killGroup(web);
  }
});

test("each inspect reads the other's result files: same job, script, console and artifacts", { timeout: 120_000 }, async () => {
  const [orig, ours] = await Promise.all([startOriginalServer(), startServerProcess()]);
  try {
    const file = await scriptFile('inspected', `${ARTIFACT_JOB}echo last\nexit 4\n`);
    const files: string[] = [];
    for (const s of [orig, ours]) {
      assert.equal((await runCli(['schedule', 'inspected', 'insp', file, '--period', 'never', '-r', s.remote])).status, 0);
      const w = startOriginalWorker('insp', s.remote);
      procs.push(w);
      await w.exited;
      const [uuid] = await eventually(async () => {
        const u = await resultUuids(s.dir, 'inspected');
        return u.length ? u : undefined;
      }, 'a result file');
      files.push(path.join(s.dir, 'inspected', uuid!, 'full'));
    }
    for (const full of files) {
      for (const flags of [['--job'], ['--script'], ['--console']]) {
        const theirs = await runOriginal('builder-inspect', [...flags, full]);
        const mine = await runCli(['inspect', ...flags, full]);
        assert.equal(theirs.status, 0, theirs.stderr);
        assert.equal(mine.status, 0, mine.stderr);
        // console lines start with the time since the start, which differs from run to run but not between readers
        assert.equal(mine.out.toString('latin1'), theirs.out.toString('latin1'), `${flags[0]} of ${full}`);
      }
      const outs = [path.join(work, 'out-theirs'), path.join(work, 'out-mine')];
      for (const o of outs) {
        await rm(o, { recursive: true, force: true });
        await mkdir(o);
      }
      assert.equal((await runOriginal('builder-inspect', [`--output=${outs[0]}`, full])).status, 0);
      assert.equal((await runCli(['inspect', '--output', outs[1]!, full])).status, 0);
      for (const o of outs) assert.equal((await readFile(path.join(o, 'bin.dat'))).toString('latin1'), ARTIFACT);
    }
  } finally {
    await Promise.all([orig.close(), ours.close()]);
  }
});

test("an original server's state file (every period, orb builds, a dropped platform) imported by ours and served to the original client", { timeout: 120_000 }, async () => {
  const orig = await startOriginalServer();
  const file = await scriptFile('state-job', 'echo hi\n');
  const steps = [
    ['schedule', '--period', 'hourly', 'every-hour', 'p1', file],
    ['schedule', '--period', 'daily', 'every-day', 'p1', file],
    ['schedule', '--period', 'weekly', 'every-week', 'p2', file],
    ['schedule', '--period', 'never', 'never-again', 'p2', file],
    ['schedule', '--period', 'daily', 'doomed', 'gone', file],
    ['orb-build', '--period', 'weekly', 'orb-a', 'albatross'],
    ['orb-build', '--period', 'never', 'orb-b', 'solo5'],
    ['drop-platform', 'gone'],
  ];
  for (const s of steps) assert.equal((await originalClient(orig.remote, s)).status, 0, s.join(' '));
  const before = await originalClient(orig.remote, ['info']);
  await orig.stop();
  const state = path.join(orig.dir, 'state');
  const dir = path.join(work, 'imported');
  const ours = await startServerProcess({ dir, args: ['--import-state', state] });
  try {
    const afterImport = await originalClient(ours.remote, ['info']);
    assert.equal(afterImport.status, 0, afterImport.stderr);
    // the order of schedule entries and of platforms is each server's map order; the original's Format
    // breaks a queue's line by its own column count: compare entries and queues as sorted lines
    const sorted = (t: string) =>
      t
        .replace(/(\nschedule:\n)([\s\S]*?)(\nqueues:\n)/, (_m, a: string, body: string, c: string) => a + body.split(';\n').sort().join(';\n') + c)
        .replace(/(\nqueues:\n)([\s\S]*?)(\nrunning:\n)/, (_m, a: string, body: string, c: string) => a + body.replace(/;\n(?=name )/g, '; ').split('\n').sort().join('\n') + c);
    assert.equal(sorted(afterImport.stdout), sorted(before.stdout));
    assert.match(afterImport.stdout, /^dropped platforms: gone$/m);
    assert.match(afterImport.stdout, /name orb-b, opam solo5 next .*, scheduled never/);
  } finally {
    await ours.close();
    await orig.close();
  }
});
