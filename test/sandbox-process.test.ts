import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
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
