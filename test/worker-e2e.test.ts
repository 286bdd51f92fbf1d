// Our worker against our server, end to end over TCP: a job scheduled by a client runs in the worker's sandbox,
// its console and its files end up in the server's result, and the worker leaves nothing behind.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessSandbox } from '../sandbox/process.ts';
import { destroyPool } from '../src/pool/pool.ts';
import { decodeExec } from '../src/protocol/exec-codec.ts';
import { runWorker } from '../src/worker/worker-loop.ts';
import { outcome, startFixture } from './helpers/server-fixture.ts';

after(() => destroyPool());

async function resultOf(dir: string, job: string): Promise<ReturnType<typeof decodeExec>> {
  for (let i = 0; i < 1000; i++) {
    const jobDir = join(dir, job);
    const runs = existsSync(jobDir) ? readdirSync(jobDir).filter((n) => existsSync(join(jobDir, n, 'full'))) : [];
    if (runs.length > 0) return decodeExec(readFileSync(join(jobDir, runs[0]!, 'full')));
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no result for ${job} under ${dir}`);
}

test('a scheduled job runs in our worker and its result is recorded by our server', async () => {
  const fx = await startFixture();
  const tmpRoot = mkdtempSync(join(tmpdir(), 'builder-e2e-'));
  try {
    const script = 'echo hello\necho oops >&2\nprintf "\\377\\000bin" > out.bin\nmkdir d\necho deep > d/x\nexit 3\n';
    assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'daily', job: { type: 'script', name: 'e2e', script, platform: 'test' } }), { type: 'success' });
    const log: string[] = [];
    const code = await runWorker({ host: '127.0.0.1', port: fx.port, platform: 'test', sandbox: new ProcessSandbox(), tmpRoot, log: (m) => log.push(m) });
    assert.equal(code, 0, log.join('\n'));
    const exec = await resultOf(fx.dir, 'e2e');
    assert.equal(exec.job.name, 'e2e');
    assert.deepEqual(exec.result, { type: 'exited', code: 3 });
    assert.deepEqual(exec.console.map((l) => Buffer.from(l.line).toString()).sort(), ['hello', 'oops']);
    assert.deepEqual(
      exec.files.map((f) => [f.path, Buffer.from(f.data).toString('latin1')]),
      [['out.bin', '\xff\x00bin'], ['d/x', 'deep\n']],
    );
    assert.deepEqual(readdirSync(tmpRoot), []);
  } finally {
    await fx.close();
    rmSync(tmpRoot, { recursive: true, force: true });
  }
});
