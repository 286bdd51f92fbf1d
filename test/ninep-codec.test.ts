// The 9P codec: every message of the three dialects round-trips, known byte layouts, the .u
// extensions, and strict refusal of malformed bodies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decode, decodeDirents, decodeStats, encode, encodeDirent, encodeStat, MESSAGES,
  type Dialect, type Message, type MessageName, type Stat,
} from '../src/ninep/codec.ts';
import { NinepDecodeError } from '../src/errors/ninep-error.ts';

const qid = { type: 0x80, version: 7, path: 0x0102030405060708n };
const stat: Stat = {
  type: 1, dev: 2, qid, mode: 0x800001ed, atime: 3, mtime: 4, length: 5n, name: 'jobs', uid: 'u', gid: 'g', muid: 'm',
  extension: 'ext', nUid: 10, nGid: 11, nMuid: 12,
};

/** A sample value for each field kind, distinct per field so a swapped field would show. */
function sample(name: MessageName, dialect: Dialect): Message {
  const out: Record<string, unknown> = { type: name, tag: 0x1234 };
  let n = 1;
  for (const f of MESSAGES[name].fields as readonly (readonly [string, string, string?])[]) {
    n++;
    switch (f[1]) {
      case 'u8': out[f[0]] = n; break;
      case 'u16': out[f[0]] = 0x100 + n; break;
      case 'u32': out[f[0]] = 0x10000 + n; break;
      case 'u64': out[f[0]] = 0x100000000n + BigInt(n); break;
      case 'str': out[f[0]] = `s${n}-é`; break;
      case 'qid': out[f[0]] = qid; break;
      case 'wnames': out[f[0]] = ['a', 'bb', 'ccc']; break;
      case 'qids': out[f[0]] = [qid, { ...qid, type: 0 }]; break;
      case 'data': out[f[0]] = new Uint8Array([1, 2, 3, n]); break;
      case 'stat': out[f[0]] = dialect === '9P2000.u' ? stat : { ...stat, extension: '', nUid: 0xffffffff, nGid: 0xffffffff, nMuid: 0xffffffff }; break;
    }
    if (f[2] === 'ext' && dialect === '9P2000') out[f[0]] = f[0] === 'extension' ? '' : f[0] === 'errno' ? 0 : 0xffffffff;
  }
  return out as unknown as Message;
}

for (const dialect of ['9P2000', '9P2000.u', '9P2000.L'] as Dialect[]) {
  test(`every message round-trips in ${dialect}`, () => {
    for (const name of Object.keys(MESSAGES) as MessageName[]) {
      const msg = sample(name, dialect);
      const bytes = encode(msg, dialect);
      assert.equal(new DataView(bytes.buffer).getUint32(0, true), bytes.length, `${name} size field`);
      assert.equal(bytes[4], MESSAGES[name].id);
      assert.deepEqual(decode(bytes, dialect), msg, name);
    }
  });
}

test('Tversion has the layout of the spec', () => {
  const bytes = encode({ type: 'Tversion', tag: 0xffff, msize: 8192, version: '9P2000' }, '9P2000');
  assert.deepEqual([...bytes], [19, 0, 0, 0, 100, 0xff, 0xff, 0, 0x20, 0, 0, 6, 0, ...Buffer.from('9P2000')]);
});

test('.u and .L add n_uname to Tattach and errno to Rerror; 9P2000 does not', () => {
  const attach: Message = { type: 'Tattach', tag: 1, fid: 1, afid: 0xffffffff, uname: 'a', aname: '', nUname: 1000 };
  assert.equal(encode(attach, '9P2000').length + 4, encode(attach, '9P2000.u').length);
  assert.equal(encode(attach, '9P2000.L').length, encode(attach, '9P2000.u').length);
  const err: Message = { type: 'Rerror', tag: 1, ename: 'x', errno: 2 };
  assert.equal((decode(encode(err, '9P2000.u'), '9P2000.u') as { errno: number }).errno, 2);
  assert.equal((decode(encode(err, '9P2000'), '9P2000') as { errno: number }).errno, 0);
});

test('stat lists and dirents decode what was encoded', () => {
  const two = Buffer.concat([encodeStat(stat, '9P2000.u'), encodeStat({ ...stat, name: 'clone' }, '9P2000.u')]);
  assert.deepEqual(decodeStats(two, '9P2000.u').map((s) => s.name), ['jobs', 'clone']);
  const d = { qid, offset: 3n, type: 0x80, name: 'jobs' };
  assert.deepEqual(decodeDirents(Buffer.concat([encodeDirent(d), encodeDirent({ ...d, name: 'x' })])), [d, { ...d, name: 'x' }]);
});

test('malformed frames are refused with NinepDecodeError', () => {
  const good = encode({ type: 'Twalk', tag: 1, fid: 1, newfid: 2, wnames: ['jobs'] }, '9P2000.u');
  const bad: [Uint8Array, RegExp][] = [
    [good.slice(0, 5), /shorter than the 7-byte header/],
    [good.slice(0, good.length - 1), /size field/],
    [(() => { const b = Buffer.from(good.slice(0, good.length - 2)); b.writeUInt32LE(b.length, 0); return b; })(), /truncated/],
    [(() => { const b = Buffer.concat([good, Buffer.from([0])]); b.writeUInt32LE(b.length, 0); return b; })(), /trailing bytes/],
    [(() => { const b = Buffer.from(good); b[4] = 200; return b; })(), /unknown message type 200/],
    [(() => { const b = Buffer.from(good); b[b.length - 1] = 0xff; return b; })(), /UTF-8/],
  ];
  for (const [bytes, message] of bad) {
    assert.throws(() => decode(bytes, '9P2000.u'), (e: unknown) => e instanceof NinepDecodeError && e.code === 'ERR_NINEP_DECODE' && message.test(e.message));
  }
});
