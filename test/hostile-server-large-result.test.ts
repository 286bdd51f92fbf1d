// A worker reporting a 600 KB failure message: the history entry keeps a bounded message (large
// store values are what a nearly full disk handles worst), the result file keeps it whole.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { decodeExec } from '../src/protocol/exec-codec.ts';
import { uuidToString } from '../src/protocol/uuid.ts';
import { STORED_MESSAGE_MAX } from '../src/server/stored-result.ts';
import { outcome, startFixture, workerRequest } from './helpers/server-fixture.ts';

async function until<T>(what: string, f: () => T | undefined): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const v = f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('a 600 KB result message: bounded in the history and after a restart, whole in the result file', async () => {
  const fx = await startFixture();
  try {
    assert.equal((await outcome(fx.port, { type: 'schedule', period: 'daily', job: { type: 'script', name: 'big', script: 'true', platform: 'p' } })).type, 'success');
    const w = await workerRequest(fx.port, 'p');
    const js = await w.job();
    const message = 'x'.repeat(600 * 1024);
    await w.sock.send({ type: 'job-finished', uuid: js.uuid, result: { type: 'msg', message }, files: [] });
    const uuid = uuidToString(js.uuid);
    const h = await until('the history entry', () => fx.server.supervisor.history('big').find((e) => e.uuid === uuid));
    w.sock.destroy();
    assert.equal(h.result.type, 'msg');
    const kept = (h.result as { message: string }).message;
    assert.equal(kept, `${message.slice(0, STORED_MESSAGE_MAX)}… (${message.length - STORED_MESSAGE_MAX} more characters in the result file)`);
    assert.ok(h.resultText.length < STORED_MESSAGE_MAX + 200, 'the result text is bounded too');
    const exec = decodeExec(new Uint8Array(await readFile(h.resultPath!)));
    assert.deepEqual(exec.result, { type: 'msg', message }, 'the result file has the whole message');
    await fx.restart();
    const again = fx.server.supervisor.history('big').find((e) => e.uuid === uuid)!;
    assert.equal((again.result as { message: string }).message, kept);
  } finally {
    await fx.close();
  }
});
