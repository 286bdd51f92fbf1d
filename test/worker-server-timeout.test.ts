// A job killed by the server's timeout: the worker must say the server ended the job, not that the network failed,
// and the job's processes and directory must be gone.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessSandbox } from '../sandbox/process.ts';
import { destroyPool } from '../src/pool/pool.ts';
import { runWorker } from '../src/worker/worker-loop.ts';
import { outcome, startFixture } from './helpers/server-fixture.ts';
import { sleepersGone } from './sandbox-conformance.ts';

after(() => destroyPool());

test("a job ended by the server's timeout is reported as such by the worker", async () => {
  const fx = await startFixture({ defaultTimeoutSeconds: 1 });
  const tmpRoot = mkdtempSync(join(tmpdir(), 'builder-timeout-test-'));
  const n = 900_000 + Math.floor(Math.random() * 99_999);
  try {
    const script = `echo started\nsleep ${n}\n`;
    assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'never', job: { type: 'script', name: 'slow', script, platform: 'test' } }), { type: 'success' });
    const log: string[] = [];
    const code = await runWorker({ host: '127.0.0.1', port: fx.port, platform: 'test', sandbox: new ProcessSandbox(), tmpRoot, log: (m) => log.push(m) });
    assert.equal(code, 1);
    assert.ok(log.some((l) => /^job slow \S+: killed, the server ended the job: job timed out$/.test(l)), log.join('\n'));
    assert.ok(!log.some((l) => /connection lost|closed during the job/.test(l)), log.join('\n'));
    assert.deepEqual(await sleepersGone(n), []);
    assert.deepEqual(readdirSync(tmpRoot), []);
  } finally {
    await fx.close();
    rmSync(tmpRoot, { recursive: true, force: true });
  }
});
