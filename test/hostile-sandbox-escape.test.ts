// A job that starts a child which calls setsid and closes its console, then exits: the child must not outlive the
// job. The process sandbox holds the tree with a cgroup per job, or a PID namespace; each is tested where this
// machine allows it (under CI a missing one is a failure), and the choice is named for the worker's start line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProcessSandbox } from '../sandbox/process.ts';
import { chooseContainment, type ContainmentKind } from '../sandbox/job-containment.ts';
import { runScript, sleepersGone, whenAvailable } from './sandbox-conformance.ts';

function available(kind: ContainmentKind): string | undefined {
  try {
    chooseContainment(kind);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const escape = (n: number) => `setsid sh -c 'exec sleep ${n}' </dev/null >/dev/null 2>&1 &\necho left a daemon\n`;

// A cgroup needs write access to the worker's own cgroup (root, or a delegated one): where it is missing the test is
// skipped, even under CI. A PID namespace needs what bwrap needs (user namespaces), which CI must have.
for (const kind of ['cgroup', 'pid-namespace'] as const) {
  const problem = available(kind);
  const register = kind === 'cgroup' && problem !== undefined ? () => test(`cgroup containment`, { skip: problem }, () => undefined) : undefined;
  if (register) {
    register();
    continue;
  }
  whenAvailable(`${kind} containment`, problem, () => {
    const options = {
      make: () => new ProcessSandbox({ containment: kind }),
      liveDirectory: true,
      nc: 'busybox nc',
      networkReachesHostLoopback: true,
      fullUserland: true,
    };

    test(`${kind}: a setsid child with its console closed dies with its job`, async () => {
      const n = 800_000 + Math.floor(Math.random() * 99_999);
      const r = await runScript(options, escape(n));
      assert.deepEqual(r.outcome, { type: 'exited', code: 0 });
      assert.deepEqual(r.lines, ['left a daemon']);
      assert.deepEqual(await sleepersGone(n), []);
    });

    test(`${kind}: the script's own exit code and signal still come through`, async () => {
      assert.deepEqual((await runScript(options, 'exit 3\n')).outcome, { type: 'exited', code: 3 });
      assert.deepEqual((await runScript(options, 'kill -TERM $$\n')).outcome, { type: 'signalled', signal: 15 });
    });

    test(`${kind}: a daemon is killed on abort too`, async () => {
      const n = 800_000 + Math.floor(Math.random() * 99_999);
      const r = await runScript(options, `${escape(n)}sleep ${n + 1}\n`, {
        onLine: (line, ctx) => {
          if (line === 'left a daemon') ctx.abort.abort(new Error('test stops it'));
        },
      });
      assert.deepEqual(r.outcome, { type: 'aborted', reason: 'test stops it' });
      assert.deepEqual(await sleepersGone(n), []);
      assert.deepEqual(await sleepersGone(n + 1), []);
    });
  });
}

test('the worker says which containment holds its jobs', () => {
  const line = new ProcessSandbox().describe();
  assert.match(line, /^process sandbox; job trees held by (cgroup v2 per job|a PID namespace per job|a \/proc scan)/);
});
