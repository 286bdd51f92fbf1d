// Issue 15.3: a worker flooding tiny console lines. The held console is bounded by lines and by each
// line's real cost (not only its bytes); the result file keeps the newest lines and counts none twice.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { decodeExec } from '../src/protocol/exec-codec.ts';
import { ConsoleBuffer, LINE_OVERHEAD_BYTES } from '../src/server/console-buffer.ts';
import { outcome, startFixture, workerRequest } from './helpers/server-fixture.ts';

test('one-byte lines are counted at their real cost: a byte cap holds far fewer of them than bytes', () => {
  const buf = new ConsoleBuffer(1024 * 1024, 10_000_000);
  const big = new Uint8Array(64 * 1024);
  for (let i = 0; i < 200_000; i++) buf.append({ deltaNs: BigInt(i), line: big.subarray(i % 1000, (i % 1000) + 1) });
  const held = buf.held();
  assert.ok(held.length <= Math.ceil((1024 * 1024) / (1 + LINE_OVERHEAD_BYTES)), `${held.length} lines held`);
  assert.equal(held.length + buf.dropped, 200_000);
  assert.equal(held[held.length - 1]!.deltaNs, 199_999n, 'the newest line is kept');
  // a line decoded as a view into a big frame buffer is copied, so it does not keep that buffer alive
  assert.ok(held.every((l) => l.line.buffer.byteLength === 1));
});

test('a worker sending many more tiny lines than the cap: the server holds the cap, the result file the newest lines', async () => {
  const fx = await startFixture({ consoleMaxLines: 1000 });
  try {
    assert.equal((await outcome(fx.port, { type: 'schedule', period: 'daily', job: { type: 'script', name: 'flood', script: 'true', platform: 'p' } })).type, 'success');
    const w = await workerRequest(fx.port, 'p');
    const js = await w.job();
    const total = 20_000;
    for (let i = 0; i < total; i++) await w.sock.send({ type: 'output', uuid: js.uuid, line: new Uint8Array([48 + (i % 10)]) });
    // the server has read every line once the info shows the held count at the cap
    for (;;) {
      const run = fx.server.supervisor.infoExtended().runs.find((r) => r.name === 'flood');
      assert.ok(run && run.consoleLines <= 1000, `held ${run?.consoleLines}`);
      if (fx.server.supervisor.consoleOf(run.uuid)!.dropped + run.consoleLines === total) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await w.sock.send({ type: 'job-finished', uuid: js.uuid, result: { type: 'exited', code: 0 }, files: [] });
    await w.sock.closed;
    const h = fx.server.supervisor.history('flood')[0]!;
    const exec = decodeExec(new Uint8Array(await readFile(h.resultPath!)));
    assert.equal(exec.console.length, 1000);
    // the result file lists the newest line first: line total-1 is '0' + (total-1) % 10
    assert.deepEqual([...exec.console[0]!.line], [48 + ((total - 1) % 10)]);
  } finally {
    await fx.close();
  }
});
