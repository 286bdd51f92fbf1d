// Seeded fuzzing of 9P frames: mutated valid frames, random headers and random bytes go to the
// server over several connections while another connection keeps working. The server must never
// crash, must answer or close, and must keep serving everyone else. The server is the real builder
// server with its 9P file system attached.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { encode, type Message } from '../src/ninep/codec.ts';
import { startNinepFixture } from './helpers/ninep-fixture.ts';
import { outcome } from './helpers/server-fixture.ts';
import { mulberry32 } from './helpers/prng.ts';

const SEED = Number(process.env.NINEP_FUZZ_SEED ?? 0x9f2000);
const ROUNDS = 40;
const FRAMES_PER_ROUND = 60;


const templates: Message[] = [
  { type: 'Tversion', tag: 0xffff, msize: 8192, version: '9P2000.u' },
  { type: 'Tversion', tag: 0xffff, msize: 8192, version: '9P2000.L' },
  { type: 'Tattach', tag: 1, fid: 0, afid: 0xffffffff, uname: 'u', aname: '', nUname: 0 },
  { type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['jobs', 'fuzz', 'ctl'] },
  { type: 'Topen', tag: 3, fid: 1, mode: 2 },
  { type: 'Tlopen', tag: 3, fid: 1, flags: 2 },
  { type: 'Tread', tag: 4, fid: 1, offset: 0n, count: 4096 },
  { type: 'Twrite', tag: 5, fid: 1, offset: 0n, data: Buffer.from('start') },
  { type: 'Twalk', tag: 6, fid: 0, newfid: 2, wnames: ['clone'] },
  { type: 'Twrite', tag: 7, fid: 2, offset: 0n, data: Buffer.from('fz:*/5 * * * *:echo x') },
  { type: 'Treaddir', tag: 8, fid: 1, offset: 0n, count: 4096 },
  { type: 'Tgetattr', tag: 9, fid: 1, requestMask: 0x7ffn },
  { type: 'Tstat', tag: 10, fid: 0 },
  { type: 'Tflush', tag: 11, oldtag: 4 },
  { type: 'Tremove', tag: 12, fid: 1 },
  { type: 'Tclunk', tag: 13, fid: 2 },
  { type: 'Tunlinkat', tag: 14, dirfid: 0, name: 'jobs', flags: 0 },
  { type: 'Twstat', tag: 15, fid: 0, stat: { type: 0, dev: 0, qid: { type: 0, version: 0, path: 0n }, mode: 0, atime: 0, mtime: 0, length: 0n, name: 'x', uid: '', gid: '', muid: '', extension: '', nUid: 0, nGid: 0, nMuid: 0 } },
];

function mutate(rand: () => number, dialect: '9P2000' | '9P2000.u' | '9P2000.L'): Uint8Array {
  const pick = Math.floor(rand() * 5);
  if (pick === 0) {
    // random bytes with a plausible size field
    const n = 7 + Math.floor(rand() * 60);
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
    b.writeUInt32LE(n, 0);
    return b;
  }
  const base = Buffer.from(encode(templates[Math.floor(rand() * templates.length)]!, dialect));
  if (pick === 1) return base;
  if (pick === 2) {
    // flip a few bytes past the size field
    for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) base[4 + Math.floor(rand() * (base.length - 4))] = Math.floor(rand() * 256);
    return base;
  }
  if (pick === 3) {
    // truncate or extend the body, keeping the size field honest
    const len = Math.max(7, Math.floor(rand() * (base.length + 12)));
    const b = Buffer.alloc(len);
    base.copy(b, 0, 0, Math.min(len, base.length));
    b.writeUInt32LE(len, 0);
    return b;
  }
  // a lying size field: the connection may stall or be closed, never the server
  base.writeUInt32LE(Math.floor(rand() * 0xffffffff), 0);
  return base;
}

test(`seeded 9P fuzz (seed ${SEED}) never crashes the server and leaves other connections working`, async () => {
  const fx = await startNinepFixture();
  const errors: string[] = [];
  const onUncaught = (e: Error) => errors.push(e.message);
  process.on('uncaughtException', onUncaught);
  try {
    const healthy = await fx.connect('9P2000.u');
    await healthy.writeFile('/clone', 'fuzz:*/5 * * * *:echo fuzz');
    const rand = mulberry32(SEED);
    let replies = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const dialect = (['9P2000', '9P2000.u', '9P2000.L'] as const)[round % 3];
      const sock = net.connect({ host: '127.0.0.1', port: fx.ninepPort });
      await new Promise<void>((r, j) => sock.once('connect', r).once('error', j));
      sock.on('error', () => {});
      sock.on('data', (d) => (replies += d.length));
      const closed = new Promise<void>((r) => sock.once('close', () => r()));
      // a valid start so that later frames reach the deeper handlers
      sock.write(encode({ type: 'Tversion', tag: 0xffff, msize: 8192, version: dialect }, '9P2000'));
      sock.write(encode({ type: 'Tattach', tag: 1, fid: 0, afid: 0xffffffff, uname: 'u', aname: '', nUname: 0 }, dialect));
      for (let i = 0; i < FRAMES_PER_ROUND; i++) sock.write(mutate(rand, dialect));
      // the healthy connection works while the fuzzed one is busy
      assert.deepEqual((await healthy.list('/')).sort(), ['clone', 'jobs', 'queues', 'workers']);
      // (a fuzzed frame may have deleted the job: other seeds can hit on Tremove of its directory)
      if (fx.job('fuzz')) assert.equal(await healthy.readText('/jobs/fuzz/cmd'), 'echo fuzz\n');
      sock.end();
      await closed;
    }
    assert.ok(replies > 0, 'the server answered fuzzed frames');
    assert.match(await healthy.readText('/workers'), /^$/);
    const fresh = await fx.connect('9P2000.L');
    assert.ok((await fresh.list('/')).includes('jobs'));
    // The builder server itself still takes commands, and sees what 9P made.
    const job = { type: 'script' as const, name: 'after_fuzz', script: 'true', platform: 'p' };
    assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'daily', job }), { type: 'success' });
    assert.ok((await fresh.list('/jobs')).includes('after_fuzz'));
    assert.deepEqual(errors, []);
  } finally {
    process.off('uncaughtException', onUncaught);
    await fx.close();
  }
});
