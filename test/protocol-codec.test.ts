// The codec beyond the vectors: our extensions, the legacy forms, times, and strict refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCmd, encodeCmd } from '../src/protocol/cmd-codec.ts';
import { decodeExec, encodeExec } from '../src/protocol/exec-codec.ts';
import { decodeState, encodeState } from '../src/protocol/state-codec.ts';
import { formatGeneralizedTime, parseGeneralizedTime, parseUtcTime } from '../src/protocol/time-codec.ts';
import { randomUuid, uuidFromString, uuidToString } from '../src/protocol/uuid.ts';
import { ProtocolError } from '../src/errors/protocol-error.ts';
import { loadManifest, readVector } from './protocol-vectors-support.ts';
import type { Cmd } from '../src/protocol/types.ts';

const hex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** One TLV in hex, its (short-form) length computed from the content. */
const tlv = (id: string, ...content: string[]): string => {
  const c = content.join('').replace(/\s+/g, '');
  return id + (c.length / 2).toString(16).padStart(2, '0') + c;
};

function refuses(f: () => unknown, code: string, field?: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof ProtocolError, `a ProtocolError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (field) assert.match(e.message, field);
    return true;
  });
}

test('our extension commands [23]..[27] round-trip', () => {
  const job = { type: 'script' as const, name: 'nightly', script: 'make', platform: 'debian-12' };
  const cmds: Cmd[] = [
    { type: 'schedule-extended', schedule: { job } },
    { type: 'schedule-extended', schedule: { job, period: 'daily', cron: '0 3 * * *', timeZone: 'Europe/Berlin', timeoutSeconds: 7200, catchUp: { type: 'all', max: 5 } } },
    { type: 'schedule-extended', schedule: { job: { type: 'orb-build', name: 'x', opamPackage: 'x' }, catchUp: { type: 'skip' } } },
    { type: 'schedule-extended', schedule: { job, timeZone: 'UTC', catchUp: { type: 'one' } } },
    { type: 'history', name: 'nightly' },
    { type: 'history-reply', json: '{"runs":[]}' },
    { type: 'info-extended' },
    { type: 'info-extended-reply', json: '{"ü":1}' },
  ];
  for (const cmd of cmds) assert.deepEqual(decodeCmd(encodeCmd(cmd)), cmd);
  assert.equal(encodeCmd({ type: 'info-extended' })[0], 0xba);
  assert.equal(toHex(encodeCmd({ type: 'history', name: 'a' })), 'b8030c0161');
});

test('legacy forms decode: old Execute [11], old InfoReply [7], state [1] with UTCTime, obsolete state items', () => {
  assert.deepEqual(decodeCmd(hex('ab 03 0c 01 61')), { type: 'execute', name: 'a', legacy: true });
  assert.deepEqual(decodeCmd(hex('a7 08 30 06 30 00 30 00 30 00')), { type: 'info-reply', info: { schedule: [], queues: [], running: [], droppedPlatforms: [] }, legacy: true });
  // SEQUENCE { [1] SEQ { UTCTime 2401020304Z... , [1] NULL, ScriptJob }, [0] ScriptJob, [2] [1] OrbBuildJob }
  const sj = tlv('30', '0c0161 0c0162 3000 0c0170');
  const utc = tlv('17', '3234303130323033303430355a');
  const state = decodeState(hex(tlv('30', tlv('a1', tlv('30', utc, 'a1020500', sj)), tlv('a0', sj), tlv('a2', tlv('a1', tlv('30', '0c0161 0c0162'))))));
  assert.deepEqual(state, [
    { type: 'schedule', legacy: true, item: { next: new Date('2024-01-02T03:04:05Z'), period: 'daily', job: { type: 'script', name: 'a', script: 'b', platform: 'p' } } },
    { type: 'obsolete', tag: 0 },
    { type: 'obsolete', tag: 2 },
  ]);
  // written back as the original does: the schedule as [3] with GeneralizedTime, obsolete items left out
  assert.deepEqual(decodeState(encodeState(state)), [{ type: 'schedule', item: state[0]!.type === 'schedule' ? state[0]!.item : undefined! }]);
});

test('obsolete alternatives are refused with a clear error', () => {
  refuses(() => decodeCmd(hex('a0 03 020101')), 'ERR_PROTOCOL_OBSOLETE', /obsolete alternative \[0\]/);
  refuses(() => decodeCmd(hex('a1 03 020101')), 'ERR_PROTOCOL_OBSOLETE', /\[1\]/);
  refuses(() => decodeCmd(hex('a8 02 0500')), 'ERR_PROTOCOL_OBSOLETE', /\[8\]/);
  refuses(() => decodeExec(hex('a1 02 0500')), 'ERR_PROTOCOL_OBSOLETE', /Exec/);
  refuses(() => decodeCmd(hex('bc 02 0500')), 'ERR_PROTOCOL_UNKNOWN_ALTERNATIVE');
});

test('times: UTCTime and GeneralizedTime with fractions and offsets; written as the original writes them', () => {
  assert.equal(parseGeneralizedTime('20240102030405.678Z', 'f').toISOString(), '2024-01-02T03:04:05.678Z');
  assert.equal(parseGeneralizedTime('20240102030405.6789123Z', 'f').toISOString(), '2024-01-02T03:04:05.678Z');
  assert.equal(parseGeneralizedTime('20240102030405.5Z', 'f').toISOString(), '2024-01-02T03:04:05.500Z');
  assert.equal(parseGeneralizedTime('20240102050405+0200', 'f').toISOString(), '2024-01-02T03:04:05.000Z');
  assert.equal(parseGeneralizedTime('20240101233405-0330', 'f').toISOString(), '2024-01-02T03:04:05.000Z');
  assert.equal(parseGeneralizedTime('202401020304Z', 'f').toISOString(), '2024-01-02T03:04:00.000Z');
  assert.equal(parseUtcTime('240102030405Z', 'f').toISOString(), '2024-01-02T03:04:05.000Z');
  assert.equal(parseUtcTime('990102030405Z', 'f').toISOString(), '1999-01-02T03:04:05.000Z');
  assert.equal(parseUtcTime('2401020304+0100', 'f').toISOString(), '2024-01-02T02:04:00.000Z');
  for (const bad of ['20240230000000Z', '20241301000000Z', '2024010203040Z', '20240102030405', '20240102030405.Z', 'x0240102030405Z', '20240102240000Z']) {
    refuses(() => parseGeneralizedTime(bad, 'Cmd.Reschedule.next'), 'ERR_PROTOCOL_BAD_TIME', /Cmd\.Reschedule\.next/);
  }
  assert.equal(formatGeneralizedTime(new Date('2024-01-02T03:04:05.000Z'), 'f'), '20240102030405Z');
  assert.equal(formatGeneralizedTime(new Date('2024-01-02T03:04:05.678Z'), 'f'), '20240102030405.678Z');
  assert.equal(formatGeneralizedTime(new Date('2024-01-02T03:04:05.500Z'), 'f'), '20240102030405.5Z');
  assert.equal(formatGeneralizedTime(new Date('2024-01-02T03:04:05.010Z'), 'f'), '20240102030405.01Z');
  assert.equal(formatGeneralizedTime(new Date('0001-01-01T00:00:00.001Z'), 'f'), '00010101000000.001Z');
  refuses(() => formatGeneralizedTime(new Date(NaN), 'f'), 'ERR_PROTOCOL_INVALID_VALUE');
  refuses(() => formatGeneralizedTime(new Date('+010000-01-01T00:00:00Z'), 'f'), 'ERR_PROTOCOL_INVALID_VALUE');
  // a Reschedule carrying a UTCTime decodes, and is written back with a GeneralizedTime
  const c = decodeCmd(hex('ad 14 3012 0c0161 170d 3234303130323033303430355a'));
  assert.deepEqual(c, { type: 'reschedule', name: 'a', next: new Date('2024-01-02T03:04:05Z') });
  assert.equal(toHex(encodeCmd(c)), tlv('ad', tlv('30', '0c0161', tlv('18', '32303234303130323033303430355a'))));
});

test('strict DER: lengths, trailing bytes, tags, integers, NULL, constructed strings', () => {
  const success = hex('b2020500');
  assert.deepEqual(decodeCmd(success), { type: 'success' });
  refuses(() => decodeCmd(new Uint8Array(0)), 'ERR_PROTOCOL_EMPTY');
  refuses(() => decodeCmd(hex('b2020500 00')), 'ERR_PROTOCOL_TRAILING_BYTES');
  refuses(() => decodeCmd(hex('b2 81 02 0500')), 'ERR_PROTOCOL_NON_MINIMAL_LENGTH');
  refuses(() => decodeCmd(hex('b2 82 0002 0500')), 'ERR_PROTOCOL_NON_MINIMAL_LENGTH');
  refuses(() => decodeCmd(hex('b2 80 0500 0000')), 'ERR_PROTOCOL_INDEFINITE_LENGTH');
  refuses(() => decodeCmd(hex('b2 03 0500')), 'ERR_PROTOCOL_TRUNCATED');
  refuses(() => decodeCmd(hex('b2 02 0501')), 'ERR_PROTOCOL_TRUNCATED');
  refuses(() => decodeCmd(hex('b2 03 050100')), 'ERR_PROTOCOL_BAD_NULL');
  refuses(() => decodeCmd(hex('b2 04 0500 0500')), 'ERR_PROTOCOL_TRAILING_BYTES', /Success/);
  refuses(() => decodeCmd(hex('bf12 02 0500')), 'ERR_PROTOCOL_NON_MINIMAL_TAG');
  refuses(() => decodeCmd(hex('92 00')), 'ERR_PROTOCOL_UNEXPECTED_TAG', /context tag/);
  refuses(() => decodeCmd(hex('b3 05 2c03 0c0161')), 'ERR_PROTOCOL_UNEXPECTED_TAG', /Failure\.message/);
  const hello = (int: string): Uint8Array => hex(tlv('ae', tlv('30', 'a0020500', int)));
  assert.deepEqual(decodeCmd(hello('02010d')), { type: 'client-hello', kind: 'client', version: 13 });
  refuses(() => decodeCmd(hello('02020005')), 'ERR_PROTOCOL_BAD_INTEGER', /ClientHello\.version/);
  refuses(() => decodeCmd(hello('0200')), 'ERR_PROTOCOL_BAD_INTEGER');
  refuses(() => decodeCmd(hello('0204ffff8000')), 'ERR_PROTOCOL_BAD_INTEGER');
  refuses(() => decodeCmd(hello('020a 7fffffffffffffffffff')), 'ERR_PROTOCOL_INTEGER_RANGE', /version/);
  refuses(() => decodeCmd(hello('0a010d')), 'ERR_PROTOCOL_UNEXPECTED_TAG', /expected INTEGER/);
  refuses(() => decodeCmd(hex('ae 05 3003 a00205')), 'ERR_PROTOCOL_TRUNCATED');
  refuses(() => decodeCmd(hex('ae 04 3002 a200')), 'ERR_PROTOCOL_UNEXPECTED_TAG', /ClientHello\.kind/);
  refuses(() => decodeCmd(hex('ae 04 3002 a000')), 'ERR_PROTOCOL_MISSING_FIELD', /kind/);
});

test('text fields are strictly validated UTF-8 naming the field; raw-byte fields are kept as bytes', () => {
  refuses(() => decodeCmd(hex('b0 04 0c02 c328')), 'ERR_PROTOCOL_INVALID_UTF8', /JobRequested\.platform/);
  refuses(() => decodeCmd(hex('b3 05 0c03 eda080')), 'ERR_PROTOCOL_INVALID_UTF8', /Failure\.message/); // a surrogate
  refuses(() => decodeCmd(hex('b3 04 0c02 c0af')), 'ERR_PROTOCOL_INVALID_UTF8'); // overlong
  assert.deepEqual(decodeCmd(hex('b3 05 0c03 efbbbf')), { type: 'failure', message: '\ufeff' }, 'a BOM is content');
  const uuid = randomUuid();
  const out: Cmd = { type: 'output', uuid, line: hex('ff fe 00 c3 28'), timestamp: 2n ** 70n };
  assert.deepEqual(decodeCmd(encodeCmd(out)), out);
  refuses(() => decodeCmd(hex('aa 04 0c02 0102')), 'ERR_PROTOCOL_BAD_UUID', /Observe\.uuid/);
  refuses(() => encodeCmd({ type: 'observe', uuid: new Uint8Array(3) }), 'ERR_PROTOCOL_INVALID_VALUE');
  refuses(() => encodeCmd({ type: 'failure', message: 'a\ud800' }), 'ERR_PROTOCOL_INVALID_VALUE', /Failure\.message/);
  refuses(() => encodeCmd({ type: 'nope' } as unknown as Cmd), 'ERR_PROTOCOL_INVALID_VALUE');
  refuses(() => encodeCmd({ type: 'client-hello', kind: 'client', version: 1.5 }), 'ERR_PROTOCOL_INVALID_VALUE');
  refuses(() => encodeCmd({ type: 'client-hello', kind: 'client', version: 'x' as unknown as number }), 'ERR_PROTOCOL_INVALID_VALUE');
  refuses(() => encodeCmd({ type: 'reschedule', name: 'a', next: 'tomorrow' as unknown as Date }), 'ERR_PROTOCOL_INVALID_VALUE', /Reschedule\.next/);
  refuses(() => encodeCmd({ type: 'unschedule', name: undefined as unknown as string }), 'ERR_PROTOCOL_INVALID_VALUE', /Unschedule\.name/);
  refuses(() => encodeCmd({ type: 'job-finished', uuid, result: { type: 'exited', code: 0 }, files: [{ path: 'a', data: 'text' as unknown as Uint8Array }] }), 'ERR_PROTOCOL_INVALID_VALUE', /files\[0\]\.data/);
});

test('uuids: text form, raw bytes, v4', () => {
  const u = uuidFromString('f47ac10b-58cc-4372-a567-0e02b2c3d479');
  assert.equal(toHex(u), 'f47ac10b58cc4372a5670e02b2c3d479');
  assert.equal(uuidToString(u), 'f47ac10b-58cc-4372-a567-0e02b2c3d479');
  const r = randomUuid();
  assert.equal(r.length, 16);
  assert.equal(r[6]! >> 4, 4);
  assert.equal(r[8]! >> 6, 2);
  refuses(() => uuidFromString('not-a-uuid'), 'ERR_PROTOCOL_BAD_UUID');
});

test('exec: console deltas are bigints, data raw; a missing platform is kept absent', () => {
  const v = loadManifest().vectors.find((x) => x.name === 'exec')!;
  const e = decodeExec(readVector(v));
  assert.equal(typeof e.console[0]!.delta, 'bigint');
  const noPlatform = { ...e, job: { type: 'script' as const, name: 'n', script: 's' } };
  const back = decodeExec(encodeExec(noPlatform));
  assert.equal(back.job.platform, undefined);
  assert.deepEqual(back, noPlatform);
});

test('the examples of docs/PROTOCOL-EXTENSIONS.md', () => {
  const script = { type: 'script' as const, name: 'n', script: 's' };
  assert.equal(toHex(encodeCmd({ type: 'schedule-extended', schedule: { job: { type: 'orb-build', name: 'x', opamPackage: 'x' }, catchUp: { type: 'skip' } } })), 'b7123010a10830060c01780c0178a404a1020500');
  const c: Cmd = { type: 'schedule-extended', schedule: { job: script, cron: '0 3 * * *', timeZone: 'UTC', timeoutSeconds: 3600 } };
  const h = 'b7283026a00a30080c016e0c01733000a10b0c0930203320 2a202a202a a2050c03555443 a30402020e10'.replace(/ /g, '');
  assert.equal(toHex(encodeCmd(c)), h);
  assert.deepEqual(decodeCmd(hex(h)), c);
  // a field out of order, or twice, is refused
  refuses(() => decodeCmd(hex(tlv('b7', tlv('30', 'a00a30080c016e0c01733000', 'a2050c03555443', 'a10b0c0930203320 2a202a202a')))), 'ERR_PROTOCOL_TRAILING_BYTES', /ScheduleExtended/);
  refuses(() => decodeCmd(hex(tlv('b7', tlv('30', 'a00a30080c016e0c01733000', 'a2050c03555443', 'a2050c03555443')))), 'ERR_PROTOCOL_TRAILING_BYTES');
});

test('size limits: huge integers and huge element counts are refused', () => {
  const big = '02' + '21' + '01' + '00'.repeat(32); // a 33-byte INTEGER
  refuses(() => decodeCmd(hex(tlv('a4', tlv('30', tlv('0c', '00'.repeat(16)), '0c00', big)))), 'ERR_PROTOCOL_INTEGER_RANGE', /Output\.timestamp/);
  const n = 1_000_001;
  const element = Buffer.from('30040c000c00', 'hex');
  const content = Buffer.alloc(element.length * n);
  for (let i = 0; i < n; i++) element.copy(content, i * element.length);
  const tl = (id: number, body: Buffer): Buffer => {
    const len: number[] = [];
    for (let l = body.length; l > 0; l = Math.floor(l / 256)) len.unshift(l % 256);
    return Buffer.concat([Buffer.of(id, 0x80 | len.length, ...len), body]);
  };
  const files = tl(0x30, content);
  const der = tl(0xa3, tl(0x30, Buffer.concat([Buffer.from(tlv('0c', '00'.repeat(16)), 'hex'), Buffer.from('a003020100', 'hex'), files])));
  refuses(() => decodeCmd(new Uint8Array(der)), 'ERR_PROTOCOL_TOO_MANY_ELEMENTS', /JobFinished\.files/);
  const ok = tl(0xa3, tl(0x30, Buffer.concat([Buffer.from(tlv('0c', '00'.repeat(16)), 'hex'), Buffer.from('a003020100', 'hex'), tl(0x30, content.subarray(element.length)) ])));
  const decoded = decodeCmd(new Uint8Array(ok));
  assert.equal(decoded.type === 'job-finished' && decoded.files.length, n - 1);
});

test('an error deep inside a big InfoReply names the exact field path, decoding and encoding', () => {
  const jobs = Array.from({ length: 2000 }, (_, i) => ({ type: 'script' as const, name: `q-${i}`, script: `echo ${i}` }));
  const schedule = Array.from({ length: 2000 }, (_, i) => ({ next: new Date(Date.UTC(2024, 0, 1) + i * 1001), period: 'daily' as const, job: { type: 'script' as const, name: `s-${i}`, script: 'x' } }));
  const cmd: Cmd = { type: 'info-reply', info: { schedule, queues: [{ platform: 'p', jobs: [] }, { platform: 'debian-12', jobs }], running: [], droppedPlatforms: [] } };
  const der = encodeCmd(cmd);
  assert.deepEqual(decodeCmd(der), cmd);
  // an invalid UTF-8 byte in queues[1].jobs[1234].name ("q-1234"), found by its unique bytes
  const at = (text: string): number => {
    const i = Buffer.from(der).indexOf(Buffer.from(text));
    assert.ok(i > 0 && Buffer.from(der).indexOf(Buffer.from(text), i + 1) < 0, `${text} occurs once`);
    return i;
  };
  const badName = new Uint8Array(der);
  badName[at('q-1234\x0c')] = 0xff;
  refuses(() => decodeCmd(badName), 'ERR_PROTOCOL_INVALID_UTF8', /^Cmd\.InfoReply\.queues\[1\]\.jobs\[1234\]\.name: /);
  assert.throws(() => decodeCmd(badName), (e: ProtocolError) => e.field === 'Cmd.InfoReply.queues[1].jobs[1234].name');
  // a month 13 in schedule[1999].next
  const badTime = new Uint8Array(der);
  const t = at('20240101003320.999Z'); // schedule[1999]: 1999 * 1001 ms after midnight
  badTime[t + 4] = 0x31;
  badTime[t + 5] = 0x33;
  refuses(() => decodeCmd(badTime), 'ERR_PROTOCOL_BAD_TIME', /^Cmd\.InfoReply\.schedule\[1999\]\.next: /);
  // a wrong tag for the script of schedule[7].job
  const badTag = new Uint8Array(der);
  badTag[at('s-7\x0c') + 3] = 0x13;
  refuses(() => decodeCmd(badTag), 'ERR_PROTOCOL_UNEXPECTED_TAG', /^Cmd\.InfoReply\.schedule\[7\]\.job\.script: /);
  // encoding names the field too
  const lone = structuredClone(cmd);
  if (lone.type !== 'info-reply') throw new Error('unreachable');
  lone.info.queues[1]!.jobs[1234]!.name = 'bad \ud800';
  refuses(() => encodeCmd(lone), 'ERR_PROTOCOL_INVALID_VALUE', /^Cmd\.InfoReply\.queues\[1\]\.jobs\[1234\]\.name: /);
  lone.info.queues[1]!.jobs[1234]!.name = 'ok';
  lone.info.schedule[1500]!.next = new Date(NaN);
  refuses(() => encodeCmd(lone), 'ERR_PROTOCOL_INVALID_VALUE', /^Cmd\.InfoReply\.schedule\[1500\]\.next: invalid date/);
});
