// A secret in the worker's environment must not reach the job: jobs in the process and bwrap sandboxes start with
// a fixed, documented set of variables plus only those the operator passes by name (worker --env).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BwrapSandbox } from '../sandbox/bwrap.ts';
import { ProcessSandbox } from '../sandbox/process.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';
import { destroyPool } from '../src/pool/pool.ts';
import { decodeExec } from '../src/protocol/exec-codec.ts';
import { BIN, cleanEnv } from './helpers/cli-process.ts';
import { outcome, startFixture } from './helpers/server-fixture.ts';
import { runScript, whenAvailable } from './sandbox-conformance.ts';

after(() => destroyPool());

const SCRIPT = 'echo "secret=$BUILDER_TEST_SECRET allowed=$BUILDER_TEST_ALLOWED"\nenv | cut -d= -f1 | sort | tr "\\n" " "; echo\n';
const FIXED = ['HOME', 'LANG', 'LOGNAME', 'PATH', 'SHELL', 'TMPDIR', 'USER'];

async function jobSees(make: () => Sandbox): Promise<{ first: string; names: string[] }> {
  process.env.BUILDER_TEST_SECRET = 'hunter2';
  try {
    const r = await runScript({ make, liveDirectory: true, nc: '', networkReachesHostLoopback: false, fullUserland: true }, SCRIPT, {
      spec: { env: { BUILDER_TEST_ALLOWED: 'yes' } },
    });
    assert.deepEqual(r.outcome, { type: 'exited', code: 0 }, r.lines.join('\n'));
    return { first: r.lines[0]!, names: r.lines[1]!.trim().split(' ') };
  } finally {
    delete process.env.BUILDER_TEST_SECRET;
  }
}

function withoutShellOwn(names: string[]): string[] {
  // sh adds PWD (and dash OLDPWD) itself
  return names.filter((n) => n !== 'PWD' && n !== 'OLDPWD' && n !== 'SHLVL' && n !== '_');
}

test('process sandbox: the worker\'s secret is not in the job, the allowed variable is, and nothing else', async () => {
  const seen = await jobSees(() => new ProcessSandbox());
  assert.equal(seen.first, 'secret= allowed=yes');
  assert.deepEqual(withoutShellOwn(seen.names), [...FIXED, 'BUILDER_TEST_ALLOWED'].sort());
});

const bwrapProbe = spawnSync('bwrap', ['--die-with-parent', '--unshare-all', '--ro-bind', '/', '/', 'true']);
whenAvailable('bwrap', bwrapProbe.error?.message ?? (bwrapProbe.status === 0 ? undefined : `exit ${bwrapProbe.status}`), () => {
  test('bwrap sandbox: the worker\'s secret is not in the job, the allowed variable is, and nothing else', async () => {
    const seen = await jobSees(() => new BwrapSandbox());
    assert.equal(seen.first, 'secret= allowed=yes');
    assert.deepEqual(withoutShellOwn(seen.names), [...FIXED, 'BUILDER_TEST_ALLOWED'].sort());
  });
});

test('builder worker --env passes a variable by name; the rest of its environment stays out', async () => {
  const fx = await startFixture();
  try {
    const script = 'echo "secret=$BUILDER_TEST_SECRET allowed=$BUILDER_TEST_ALLOWED set=$BUILDER_TEST_SET"\n';
    assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'never', job: { type: 'script', name: 'env', script, platform: 'test' } }), { type: 'success' });
    const child = spawn(process.execPath, [BIN, 'worker', 'test', '-r', `127.0.0.1:${fx.port}`, '--env', 'BUILDER_TEST_ALLOWED', '--env', 'BUILDER_TEST_SET=given'], {
      env: cleanEnv({ BUILDER_TEST_SECRET: 'hunter2', BUILDER_TEST_ALLOWED: 'yes' }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const status = await new Promise((r) => child.on('close', r));
    assert.equal(status, 0, stderr);
    assert.match(stderr, /jobs' environment: the fixed set and BUILDER_TEST_ALLOWED, BUILDER_TEST_SET/);
    const jobDir = join(fx.dir, 'env');
    const run = readdirSync(jobDir).find((n) => existsSync(join(jobDir, n, 'full')))!;
    const exec = decodeExec(readFileSync(join(jobDir, run, 'full')));
    assert.deepEqual(exec.console.map((l) => Buffer.from(l.line).toString()), ['secret= allowed=yes set=given']);
  } finally {
    await fx.close();
  }
});
