// The shared worker pool: hashes equal node:crypto's, off-thread encoding equals inline encoding.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { INLINE_ENCODE_THRESHOLD, destroyPool, encodeCmdOffThread, encodesOffThread, encodeExecOffThread, sha256, sha256File } from '../src/pool/pool.ts';
import { encodeCmd, decodeCmd } from '../src/protocol/cmd-codec.ts';
import { encodeExec } from '../src/protocol/exec-codec.ts';
import { randomUuid } from '../src/protocol/uuid.ts';
import type { Cmd, Exec } from '../src/protocol/types.ts';

after(() => destroyPool());

const nodeSha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test('sha256 of buffers matches node:crypto, with and without transfer', async () => {
  for (const size of [0, 1, 1000, 3 * 1024 * 1024 + 7]) {
    const data = new Uint8Array(randomBytes(size));
    const expected = nodeSha(data);
    const digest = await sha256(data);
    assert.equal(digest.length, 32);
    assert.equal(Buffer.from(digest).toString('hex'), expected);
    assert.equal(data.length, size, 'copied, not detached');
    const own = new Uint8Array(size);
    own.set(data);
    assert.equal(Buffer.from(await sha256(own, { transfer: true })).toString('hex'), expected);
    if (size > 0) assert.equal(own.byteLength, 0, 'transferred: detached in the caller');
  }
});

test('sha256File streams a file in a worker', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'builder-pool-'));
  try {
    const data = randomBytes(5 * 1024 * 1024 + 3);
    const file = path.join(dir, 'artifact.bin');
    await writeFile(file, data);
    assert.equal(Buffer.from(await sha256File(file)).toString('hex'), nodeSha(data));
    await assert.rejects(sha256File(path.join(dir, 'missing')), /ENOENT/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('off-thread encoding equals inline encoding (large and small)', async () => {
  const big = new Uint8Array(randomBytes(INLINE_ENCODE_THRESHOLD * 2));
  const cmd: Cmd = {
    type: 'job-finished',
    uuid: randomUuid(),
    result: { type: 'exited', code: 0 },
    files: [
      { path: 'bin/app.hvt', data: big },
      { path: 'small.txt', data: new Uint8Array([1, 2, 3]) },
    ],
  };
  const inline = encodeCmd(cmd);
  const off = await encodeCmdOffThread(cmd);
  assert.ok(Buffer.from(off).equals(Buffer.from(inline)));
  assert.deepEqual(decodeCmd(off), cmd);
  const small: Cmd = { type: 'failure', message: 'nope' };
  assert.ok(Buffer.from(await encodeCmdOffThread(small)).equals(Buffer.from(encodeCmd(small))));

  const exec: Exec = {
    job: { type: 'script', name: 'j', script: 'echo', platform: 'p' },
    uuid: randomUuid(),
    console: [{ delta: 12345678901234567890n, line: new Uint8Array([0xff, 0x00]) }],
    started: new Date('2024-01-02T03:04:05.678Z'),
    finished: new Date('2024-01-02T04:04:05.500Z'),
    result: { type: 'signalled', signal: 9 },
    files: [{ path: 'a', data: big }],
  };
  const e1 = encodeExec(exec);
  const e2 = await encodeExecOffThread(exec, { transfer: true });
  assert.ok(Buffer.from(e2).equals(Buffer.from(e1)));
});

test('only messages dominated by large byte arrays go to the pool; object-heavy ones are encoded inline', () => {
  const jobs = Array.from({ length: 50_000 }, (_, i) => ({ type: 'script' as const, name: `q-${i}`, script: 'echo a reasonably long command line' }));
  const info: Cmd = { type: 'info-reply', info: { schedule: [], queues: [{ platform: 'p', jobs }], running: [], droppedPlatforms: [] } };
  assert.ok(encodeCmd(info).length > INLINE_ENCODE_THRESHOLD);
  assert.equal(encodesOffThread(info), false);
  const big: Cmd = { type: 'job-finished', uuid: randomUuid(), result: { type: 'exited', code: 0 }, files: [{ path: 'a', data: new Uint8Array(INLINE_ENCODE_THRESHOLD) }] };
  assert.equal(encodesOffThread(big), true);
  assert.equal(encodesOffThread({ ...big, files: [{ path: 'a', data: new Uint8Array(1000) }] }), false);
});
