import { test } from 'node:test';
import assert from 'node:assert/strict';
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
