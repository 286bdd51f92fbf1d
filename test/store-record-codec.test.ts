// The compact value layout of schedule entries and queued jobs (src/store/record-codec.ts): every
// value round-trips exactly; the shapes the server writes are compact, anything else stays msgpack.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Packr } from 'msgpackr';
import type { Job } from '../src/protocol/types.ts';
import { decodeEntry, decodeJob, encodeEntry, encodeJob, entryEncoding, isCompact } from '../src/store/record-codec.ts';
import type { ScheduleEntry } from '../src/store/store.ts';
import { entry, orb, script } from './store-conformance-suite.ts';

/** what lmdb-js hands the decoder: its one shared buffer, `length` set to the value's size */
function asLmdbReads(bytes: Uint8Array): Uint8Array {
  const shared = Buffer.alloc(bytes.length + 100, 0xee);
  shared.set(bytes, 0);
  Object.defineProperty(shared, 'length', { value: bytes.length, writable: true, configurable: true });
  return shared;
}

const entries: ScheduleEntry[] = [
  entry('a', 1000),
  entry('b', null, { trigger: { type: 'period', period: 'never' }, paused: true }),
  entry('c', 1.5, { origin: '9p', pendingRuns: 3 }),
  entry('d', -5, { origin: 'client' }),
  entry('e', 42, { pendingRuns: 0 }),
  entry('cron', 43, { trigger: { type: 'cron', expr: '0 0/5 * * * ? *' }, catchUp: { type: 'skip' } }),
  entry('cron-tz', 44, { trigger: { type: 'cron', expr: '* * * * *', timeZone: 'Europe/Berlin' }, catchUp: { type: 'all', max: 7 } }),
  { ...entry('orb', 45), job: orb('orb') },
  { ...entry('noplat', 46), job: { type: 'script', name: 'noplat', script: 'true' } },
  { ...entry('ünïcødé-名前', 47), job: script('ünïcødé-名前', 'plätform') },
  { ...entry('long', 48), job: { ...script('long'), script: 'x'.repeat(70_000) + '\n€' } },
  { ...entry('empty', 49), job: { ...script('empty'), script: '' } },
];

describe('record codec', () => {
  it('round-trips the entries the server writes, compact', () => {
    for (const e of entries) {
      const bytes = encodeEntry(e);
      assert.equal(isCompact(bytes), true, e.name);
      assert.deepEqual(decodeEntry(bytes), e);
      assert.deepEqual(decodeEntry(asLmdbReads(bytes)), e);
    }
  });

  it('keeps any other shape as msgpack, exactly as given', () => {
    const odd: ScheduleEntry[] = [
      { ...entry('extra', 1), note: 'kept' } as ScheduleEntry,
      { ...entry('job-extra', 2), job: { ...script('job-extra'), env: { A: '1' } } as Job },
      { ...entry('trigger-extra', 3), trigger: { type: 'period', period: 'daily', at: 5 } as ScheduleEntry['trigger'] },
      { ...entry('new-trigger', 4), trigger: { type: 'rrule', rule: 'FREQ=DAILY' } as unknown as ScheduleEntry['trigger'] },
      { ...entry('string-next', 5), next: '5' as unknown as number },
      { ...entry('name-differs', 6), job: script('other') },
    ];
    for (const e of odd) {
      const bytes = encodeEntry(e);
      assert.equal(isCompact(bytes), false, e.name);
      assert.deepEqual(decodeEntry(asLmdbReads(bytes)), e);
    }
    const j = { ...script('j'), extra: [1, 2] } as Job;
    assert.equal(isCompact(encodeJob(j)), false);
    assert.deepEqual(decodeJob(encodeJob(j)), j);
  });

  it('reads the msgpack records of a version-1 store', () => {
    const v1 = new Packr({ useRecords: false });
    for (const e of entries) assert.deepEqual(decodeEntry(asLmdbReads(v1.pack(e))), e);
    assert.deepEqual(decodeJob(asLmdbReads(v1.pack(script('q')))), script('q'));
  });

  it('round-trips queued jobs, compact', () => {
    for (const j of [script('a'), orb('o'), { type: 'script', name: 'n', script: 's' } as Job, script('名前', 'plätform')]) {
      const bytes = encodeJob(j);
      assert.equal(isCompact(bytes), true);
      assert.deepEqual(decodeJob(asLmdbReads(bytes)), j);
    }
  });

  it('gives the job in memory for a record of exactly that job, and a new one otherwise', () => {
    const known = script('a');
    const same = (name: string) => (name === 'a' ? known : undefined);
    assert.equal(decodeJob(asLmdbReads(encodeJob(script('a'))), undefined, same), known);
    for (const other of [{ ...script('a'), script: 'echo other' }, script('a', 'freebsd'), { type: 'script', name: 'a', script: 'echo a' } as Job, { type: 'orb-build', name: 'a', opamPackage: 'echo a' } as Job]) {
      const got = decodeJob(asLmdbReads(encodeJob(other)), undefined, same);
      assert.notEqual(got, known);
      assert.deepEqual(got, other);
    }
    const b = decodeJob(asLmdbReads(encodeJob(script('b'))), undefined, same);
    assert.deepEqual(b, script('b'));
    const wide = script('名前', 'plätform');
    const sameWide = (name: string) => (name === '名前' ? wide : undefined);
    assert.equal(decodeJob(asLmdbReads(encodeJob(script('名前', 'plätform'))), undefined, sameWide), wide);
    for (const other of [script('名前', 'plätforn'), script('名前', 'platform'), { ...script('名前', 'plätform'), script: 'echo 名前!' }]) {
      const got = decodeJob(asLmdbReads(encodeJob(other)), undefined, sameWide);
      assert.notEqual(got, wide);
      assert.deepEqual(got, other);
    }
  });

  it('shares period triggers and plain catch-ups only while told to (a load)', () => {
    const bytes = encodeEntry(entry('s', 1));
    const fresh = [decodeEntry(bytes), decodeEntry(bytes)];
    assert.notEqual(fresh[0]!.trigger, fresh[1]!.trigger);
    assert.notEqual(fresh[0]!.catchUp, fresh[1]!.catchUp);
    entryEncoding.shared = true;
    try {
      const shared = [decodeEntry(bytes), decodeEntry(bytes)];
      assert.equal(shared[0]!.trigger, shared[1]!.trigger);
      assert.equal(shared[0]!.catchUp, shared[1]!.catchUp);
      assert.deepEqual(shared[0], entry('s', 1));
    } finally {
      entryEncoding.shared = false;
    }
  });

  it('refuses a truncated compact record instead of reading past it', () => {
    const bytes = encodeEntry(entry('truncated', 1));
    for (const cut of [3, bytes.length - 8, bytes.length - 12]) assert.throws(() => decodeEntry(bytes.subarray(0, cut)), RangeError, `cut at ${cut}`);
    const jb = encodeJob(script('truncated'));
    assert.throws(() => decodeJob(jb.subarray(0, jb.length - 2)), RangeError);
  });
});
