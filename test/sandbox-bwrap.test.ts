import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BwrapSandbox, bwrapArgv } from '../sandbox/bwrap.ts';
import type { TestClock } from '../src/scheduler/clock.ts';
import { conformance, runScript, whenAvailable } from './sandbox-conformance.ts';

function bwrapProblem(): string | undefined {
  const probe = spawnSync('bwrap', ['--die-with-parent', '--unshare-all', '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', 'true'], { encoding: 'utf8' });
  if (probe.error) return probe.error.message;
  if (probe.status !== 0) return probe.stderr.trim() || `exit ${probe.status}`;
  return undefined;
}

const options = {
  make: (clock: TestClock) => new BwrapSandbox({ clock }),
  liveDirectory: true,
  nc: 'busybox nc',
  networkReachesHostLoopback: true,
  fullUserland: true,
};

whenAvailable('bwrap', bwrapProblem(), () => {
  conformance(options);

  test('the root is read-only, /tmp private, the job directory writable', async () => {
    const r = await runScript(options, 'touch /etc/builder-test 2>/dev/null && echo root-writable || echo root-read-only\nls -A /tmp | grep -v "^builder-sandbox-test-" | wc -l\ntouch here && echo dir-writable\n');
    assert.deepEqual(r.outcome, { type: 'exited', code: 0 });
    assert.deepEqual(r.lines.map((l) => l.trim()), ['root-read-only', '0', 'dir-writable']);
  });

  test('the job has its own process namespace', async () => {
    const r = await runScript(options, 'ls /proc | grep -c "^[0-9]"\n');
    assert.deepEqual(r.outcome, { type: 'exited', code: 0 });
    assert.ok(Number(r.lines[0]) < 10, `few processes visible, got ${r.lines[0]}`);
  });

  test('check() passes where bwrap works', async () => {
    await new BwrapSandbox().check();
    await assert.rejects(new BwrapSandbox({ bwrap: '/nonexistent/bwrap' }).check(), { code: 'ERR_SANDBOX_SPAWN' });
  });

  test('a runner that cannot start is a failed outcome naming it', async () => {
    const r = await runScript({ ...options, make: (clock: TestClock) => new BwrapSandbox({ clock, bwrap: '/nonexistent/bwrap' }) }, 'true\n');
    assert.equal(r.outcome.type, 'failed');
    assert.match((r.outcome as { message: string }).message, /cannot start \/nonexistent\/bwrap/);
  });

  test('bwrap argv shares the network only when asked', () => {
    const base = { dir: '/tmp/x', script: 'script.sh', timeoutMs: 1 };
    assert.ok(!bwrapArgv({ ...base, network: false }).includes('--share-net'));
    assert.ok(bwrapArgv({ ...base, network: true }).includes('--share-net'));
  });
});
