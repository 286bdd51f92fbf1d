import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { ProcessSandbox } from '../sandbox/process.ts';
import { conformance, runScript } from './sandbox-conformance.ts';

const options = {
  make: (clock: import('../src/scheduler/clock.ts').TestClock) => new ProcessSandbox({ clock }),
  liveDirectory: true,
  nc: 'busybox nc',
  networkReachesHostLoopback: true,
  fullUserland: true,
};

conformance(options);

// Where the launcher runs jobs (as root, with cgroups), the worker's own spawning stays the way without one.
describe('jobs spawned by the worker itself (no launcher)', () => {
  conformance({ ...options, make: (clock) => new ProcessSandbox({ clock, launcher: false }) });
});

const launcherHere = process.getuid?.() === 0 && new ProcessSandbox().containment.kind === 'cgroup';
// The build compiles the launcher where it finds a C compiler (scripts/build.mjs); the Perl one runs where it did not.
const compiledLauncher = existsSync(new URL('../dist/job-launcher', import.meta.url));
const launcherName = compiledLauncher ? 'job-launcher' : 'perl';

describe('jobs forked by the Perl launcher (where the compiled one is the default)', { skip: !(launcherHere && compiledLauncher) && 'the compiled launcher is the default only where it was built, as root with cgroups' }, () => {
  conformance({ ...options, make: (clock) => new ProcessSandbox({ clock, launcher: 'perl' }) });
  test('its jobs are the Perl launcher\'s children', async () => {
    const sandbox = new ProcessSandbox({ launcher: 'perl' });
    try {
      const run = await runScript({ ...options, make: () => sandbox }, 'cat /proc/$PPID/comm\n');
      assert.deepEqual(run.lines, ['perl']);
    } finally {
      await sandbox.cleanup();
    }
  });
});

test('jobs without network are forked by the launcher, in one namespace of the worker that is not the host\'s', { skip: !launcherHere && 'the launcher runs as root with cgroups only' }, async () => {
  const sandbox = new ProcessSandbox();
  try {
    const seen: string[][] = [];
    for (let i = 0; i < 2; i++) {
      const dir = (await import('./sandbox-conformance.ts')).jobDir();
      (await import('node:fs')).writeFileSync(`${dir}/script.sh`, 'cat /proc/$PPID/comm\nreadlink /proc/self/ns/net\n', { mode: 0o500 });
      const lines: string[] = [];
      const outcome = await sandbox.run({ dir, script: 'script.sh', timeoutMs: 10_000, network: false }, (l) => lines.push(Buffer.from(l).toString()), new AbortController().signal);
      assert.deepEqual(outcome, { type: 'exited', code: 0 });
      seen.push(lines);
    }
    assert.equal(seen[0]![0], launcherName);
    assert.notEqual(seen[0]![1], (await import('node:fs')).readlinkSync('/proc/self/ns/net'));
    assert.equal(seen[1]![1], seen[0]![1]);
  } finally {
    await sandbox.cleanup();
  }
});

test('a launcher killed mid-job fails that job, kills its tree, and the next job gets a new launcher', { skip: !launcherHere && 'the launcher runs as root with cgroups only' }, async () => {
  const sandbox = new ProcessSandbox();
  const { jobDir, sleepersGone } = await import('./sandbox-conformance.ts');
  const fs = await import('node:fs');
  try {
    const n = 600_000 + Math.floor(Math.random() * 99_999);
    const dir = jobDir();
    fs.writeFileSync(`${dir}/script.sh`, `echo $PPID\nsleep ${n}\n`, { mode: 0o500 });
    const outcome = await sandbox.run({ dir, script: 'script.sh', timeoutMs: 60_000, network: false }, (l) => process.kill(Number(Buffer.from(l).toString()), 'SIGKILL'), new AbortController().signal);
    assert.equal(outcome.type, 'failed');
    assert.match((outcome as { message: string }).message, /launcher ended/);
    assert.deepEqual(await sleepersGone(n), []);
    const again = await runScript({ ...options, make: () => sandbox }, 'cat /proc/$PPID/comm\n');
    assert.deepEqual(again.outcome, { type: 'exited', code: 0 });
    assert.deepEqual(again.lines, [launcherName]);
  } finally {
    await sandbox.cleanup();
  }
});

test('check() passes here, with and without network for the jobs', async () => {
  await new ProcessSandbox().check();
  await new ProcessSandbox().check({ network: true });
});

test('the process sandbox refuses limits it cannot enforce', async () => {
  await assert.rejects(runScript(options, 'true\n', { spec: { limits: { memoryBytes: 1 << 20 } } }), { code: 'ERR_SANDBOX_SPEC' });
});

test('a process that leaves the group but keeps the console is killed too', async () => {
  const n = 600_000 + Math.floor(Math.random() * 99_999);
  const r = await runScript(options, `setsid sleep ${n} &\necho started\n`);
  assert.deepEqual(r.outcome, { type: 'exited', code: 0 });
  const { sleepersGone } = await import('./sandbox-conformance.ts');
  assert.deepEqual(await sleepersGone(n), []);
});

// The looping worker starts a job's first process while it waits for the job (prestart): run() then lets it go.
test('a prestarted job runs as a fresh one: stdin /dev/null, clean environment, own status, its tree killed at its end', async () => {
  const { prepareJobDir, runJob } = await import('../src/worker/run-job.ts');
  const sandbox = new ProcessSandbox();
  try {
    const n = 600_000 + Math.floor(Math.random() * 99_999);
    const lines: string[] = [];
    const dir = prepareJobDir({ sandbox, tmpRoot: os.tmpdir() })!;
    assert.ok(dir);
    await new Promise((r) => setTimeout(r, 100));
    const script = `if read -r x; then echo "stdin gave $x"; else echo "stdin empty"; fi\nenv | cut -d= -f1 | sort | tr '\\n' ' '; echo\nsetsid sleep ${n} &\nexit 7\n`;
    const report = await runJob({ type: 'script', name: 'pre', script, platform: 'p' }, { sandbox, dir, onLine: (l) => lines.push(Buffer.from(l).toString()), signal: new AbortController().signal });
    assert.deepEqual(report.outcome, { type: 'exited', code: 7 });
    assert.equal(lines[0], 'stdin empty');
    assert.equal(lines[1]!.trim(), 'HOME LANG LOGNAME PATH PWD SHELL TMPDIR USER');
    const { sleepersGone } = await import('./sandbox-conformance.ts');
    assert.deepEqual(await sleepersGone(n), []);
    assert.equal(existsSync(dir), false);
    // killed by a signal: told apart from an exit code
    const dir2 = prepareJobDir({ sandbox, tmpRoot: os.tmpdir() })!;
    const killed = await runJob({ type: 'script', name: 'pre', script: 'kill -9 $$\n', platform: 'p' }, { sandbox, dir: dir2, onLine: () => undefined, signal: new AbortController().signal });
    assert.deepEqual(killed.outcome, { type: 'signalled', signal: 9 });
  } finally {
    await sandbox.cleanup();
  }
});

test('a prestarted process not used is ended with its hold, and its directory removed', async () => {
  const { prepareJobDir, abandonJobDir } = await import('../src/worker/run-job.ts');
  const sandbox = new ProcessSandbox();
  try {
    const dir = prepareJobDir({ sandbox, tmpRoot: os.tmpdir() })!;
    await new Promise((r) => setTimeout(r, 200));
    const holders = () => execFileSync('sh', ['-c', `for p in /proc/[0-9]*; do [ "$(readlink $p/cwd 2>/dev/null)" = "${dir}" ] && echo $p; done; true`]).toString().trim();
    await abandonJobDir(sandbox, dir);
    assert.equal(existsSync(dir), false);
    assert.equal(holders(), '');
  } finally {
    await sandbox.cleanup();
  }
});

test('the next job uses the same cgroup again, once nothing of the last job is left in it', { skip: !launcherHere && 'cgroup containment as root only' }, async () => {
  const sandbox = new ProcessSandbox();
  const { sleepersGone } = await import('./sandbox-conformance.ts');
  try {
    const n = 600_000 + Math.floor(Math.random() * 99_999);
    const first = await runScript({ ...options, make: () => sandbox }, `sleep ${n} &\nsed -n 's/^0:://p' /proc/self/cgroup\n`);
    const second = await runScript({ ...options, make: () => sandbox }, `sed -n 's/^0:://p' /proc/self/cgroup\n`);
    assert.deepEqual(await sleepersGone(n), []);
    assert.match(first.lines[0]!, /\/job-[0-9a-f]+$/);
    assert.equal(second.lines[0], first.lines[0]);
  } finally {
    await sandbox.cleanup();
  }
});

test('a worker whose process group is killed with SIGKILL mid-job: its launcher (in a group of its own) kills the whole job, a process that left the session too, and removes its directory', { skip: !launcherHere && 'the launcher runs as root with cgroups only' }, async () => {
  const { jobDir, sleepersGone, sleepers } = await import('./sandbox-conformance.ts');
  const fs = await import('node:fs');
  const n = 600_000 + Math.floor(Math.random() * 99_999);
  const dir = jobDir();
  fs.writeFileSync(`${dir}/script.sh`, `setsid sleep ${n} &\necho started\nsleep ${n}\n`, { mode: 0o500 });
  const worker = `
    import { ProcessSandbox } from ${JSON.stringify(new URL('../sandbox/process.ts', import.meta.url).href)};
    const s = new ProcessSandbox();
    void s.run({ dir: ${JSON.stringify(dir)}, script: 'script.sh', timeoutMs: 600000, network: false }, (l) => {
      if (Buffer.from(l).toString() === 'started') process.kill(-process.pid, 'SIGKILL');
    }, new AbortController().signal);`;
  // the launcher's directory (its consoles) goes under TMPDIR: it must be gone with the worker
  const tmp = fs.mkdtempSync(`${dir}-tmp`);
  // in a process group of its own, as under a supervisor: the worker kills that whole group (the launcher is not in it)
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', worker], { stdio: 'ignore', env: { ...process.env, TMPDIR: tmp }, detached: true });
  const signal = await new Promise((r) => child.once('exit', (_code, sig) => r(sig)));
  assert.equal(signal, 'SIGKILL');
  try {
    assert.deepEqual(await sleepersGone(n), []);
    const left = () => fs.readdirSync(tmp).filter((n) => n.startsWith('builder-launcher-'));
    for (let i = 0; i < 100 && left().length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(left(), []);
  } finally {
    for (const pid of sleepers(n)) process.kill(pid, 'SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

/** A pid that no longer runs: that of a process that has exited. */
async function exitedPid(): Promise<number> {
  const p = spawn('true');
  await new Promise((r) => p.once('exit', r));
  return p.pid!;
}

test('what workers that no longer run left behind is found by the pid in its name; a running worker\'s, this one\'s and other names are not', async () => {
  const { leftByGoneWorkers } = await import('../sandbox/pid-alive.ts');
  const fs = await import('node:fs');
  const dir = fs.mkdtempSync(`${os.tmpdir()}/builder-left-`);
  try {
    const gone = await exitedPid();
    const live = spawn('sleep', ['30']);
    try {
      for (const name of [`builder-worker-${gone}`, `builder-worker-${live.pid}`, `builder-worker-${process.pid}`, 'builder-worker-x', 'other']) fs.mkdirSync(`${dir}/${name}`);
      assert.deepEqual(leftByGoneWorkers(dir, /^builder-worker-(\d+)$/), [`builder-worker-${gone}`]);
      assert.deepEqual(leftByGoneWorkers(`${dir}/missing`, /^builder-worker-(\d+)$/), []);
    } finally {
      live.kill('SIGKILL');
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('consoles\' directories of workers killed with their launchers are removed by the next worker; a live worker\'s and an unnamed one stay', { skip: !launcherHere && 'the launcher runs as root with cgroups only' }, async () => {
  const { jobDir } = await import('./sandbox-conformance.ts');
  const fs = await import('node:fs');
  const dir = jobDir();
  fs.writeFileSync(`${dir}/script.sh`, 'echo ran\n', { mode: 0o500 });
  const tmp = fs.mkdtempSync(`${dir}-tmp`);
  const dirs = { stale: `builder-launcher-${await exitedPid()}-Ab12Cd`, live: `builder-launcher-${process.pid}-Ef34Gh`, unnamed: 'builder-launcher-Ij56Kl' };
  for (const d of Object.values(dirs)) {
    fs.mkdirSync(`${tmp}/${d}`);
    fs.writeFileSync(`${tmp}/${d}/console-1`, '');
  }
  const worker = `
    import { ProcessSandbox } from ${JSON.stringify(new URL('../sandbox/process.ts', import.meta.url).href)};
    const s = new ProcessSandbox();
    const r = await s.run({ dir: ${JSON.stringify(dir)}, script: 'script.sh', timeoutMs: 10000, network: false }, () => {}, new AbortController().signal);
    await s.cleanup();
    process.stdout.write(JSON.stringify(r));`;
  try {
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', worker], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TMPDIR: tmp } });
      let text = '';
      child.stdout.on('data', (d) => (text += d));
      child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`worker exited ${code}`))));
    });
    assert.deepEqual(JSON.parse(out), { type: 'exited', code: 0 });
    assert.deepEqual(fs.readdirSync(tmp).filter((n) => n.startsWith('builder-launcher-')).sort(), [dirs.live, dirs.unnamed].sort());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('where the launcher cannot make its directory, the worker spawns the job itself', { skip: !launcherHere && 'the launcher runs as root with cgroups only' }, async () => {
  const { jobDir } = await import('./sandbox-conformance.ts');
  const fs = await import('node:fs');
  const dir = jobDir();
  fs.writeFileSync(`${dir}/script.sh`, 'cat /proc/$PPID/comm\n', { mode: 0o500 });
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = `${dir}/missing/tmp`;
  const sandbox = new ProcessSandbox();
  try {
    const lines: string[] = [];
    const outcome = await sandbox.run({ dir, script: 'script.sh', timeoutMs: 10_000, network: false }, (l) => lines.push(Buffer.from(l).toString()), new AbortController().signal);
    assert.deepEqual(outcome, { type: 'exited', code: 0 });
    assert.deepEqual(lines, ['node']);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    await sandbox.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a job ended by a real-time signal (which Node has no name for) is reported with its number', { skip: !launcherHere && 'the launcher runs as root with cgroups only' }, async () => {
  const sandbox = new ProcessSandbox();
  try {
    const r = await runScript({ ...options, make: () => sandbox }, 'echo before\nkill -36 $$\necho after\n');
    assert.deepEqual(r.outcome, { type: 'signalled', signal: 36 });
    assert.deepEqual(r.lines, ['before']);
  } finally {
    await sandbox.cleanup();
  }
});
