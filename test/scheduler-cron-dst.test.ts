// Cron across daylight saving time in Europe/Berlin and America/New_York (2024):
//   Berlin   spring forward 2024-03-31 01:00Z (02:00 CET -> 03:00 CEST)
//            fall back      2024-10-27 01:00Z (03:00 CEST -> 02:00 CET; 02:00-03:00 repeats)
//   New York spring forward 2024-03-10 07:00Z (02:00 EST -> 03:00 EDT)
//            fall back      2024-11-03 06:00Z (02:00 EDT -> 01:00 EST; 01:00-02:00 repeats)
// The rules (src/scheduler/cron.ts): a fixed time in a gap fires once, shifted by the gap; a fixed
// time that repeats fires at its first occurrence only; hour-wildcard expressions follow the clock
// (skip missing times, fire on both passes of repeated ones).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCron } from '../src/scheduler/cron.ts';
import { firstTransition, offsetAt } from '../src/scheduler/time-zone.ts';

const Z = (s: string) => Date.parse(s);
const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString().replace('.000Z', 'Z'));
const BERLIN = 'Europe/Berlin';
const NEW_YORK = 'America/New_York';

function firings(expr: string, timeZone: string, from: string, n: number): (string | null)[] {
  const c = parseCron(expr, { timeZone, now: Z(from) });
  const out: (string | null)[] = [];
  let t = Z(from);
  for (let i = 0; i < n; i++) {
    const next = c.next(t);
    out.push(iso(next));
    if (next === null) break;
    t = next;
  }
  return out;
}

describe('time zone offsets', () => {
  it('finds the offsets and the transition instants', () => {
    const H = 3_600_000;
    assert.equal(offsetAt(BERLIN, Z('2024-01-15T12:00:00Z')), H);
    assert.equal(offsetAt(BERLIN, Z('2024-07-15T12:00:00Z')), 2 * H);
    assert.equal(offsetAt(NEW_YORK, Z('2024-01-15T12:00:00Z')), -5 * H);
    assert.equal(iso(firstTransition(BERLIN, Z('2024-03-01T00:00:00Z'), Z('2024-04-30T00:00:00Z'))), '2024-03-31T01:00:00Z');
    assert.equal(iso(firstTransition(BERLIN, Z('2024-04-01T00:00:00Z'), Z('2024-12-31T00:00:00Z'))), '2024-10-27T01:00:00Z');
    assert.equal(iso(firstTransition(NEW_YORK, Z('2024-03-01T00:00:00Z'), Z('2024-04-30T00:00:00Z'))), '2024-03-10T07:00:00Z');
    assert.equal(iso(firstTransition(NEW_YORK, Z('2024-10-01T00:00:00Z'), Z('2024-12-31T00:00:00Z'))), '2024-11-03T06:00:00Z');
    assert.equal(firstTransition(BERLIN, Z('2024-04-01T00:00:00Z'), Z('2024-10-01T00:00:00Z')), null);
    assert.equal(firstTransition('UTC', 0, Z('2024-10-01T00:00:00Z')), null);
  });
});

describe('cron in Europe/Berlin across DST', () => {
  it('30 2 * * * on the spring-forward day: 02:30 does not exist, fires at 03:30 CEST once', () => {
    assert.deepEqual(firings('30 2 * * *', BERLIN, '2024-03-30T12:00:00Z', 3), [
      '2024-03-31T01:30:00Z', // 03:30 CEST
      '2024-04-01T00:30:00Z', // 02:30 CEST
      '2024-04-02T00:30:00Z',
    ]);
  });

  it('a shifted time still fires when asked from inside the hour after the change', () => {
    // 03:10 CEST: the shifted 02:30 (= 03:30 CEST) is still ahead
    assert.deepEqual(firings('30 2 * * *', BERLIN, '2024-03-31T01:10:00Z', 2), ['2024-03-31T01:30:00Z', '2024-04-01T00:30:00Z']);
  });

  it('0 2 * * * and 30 2,3 * * * on the spring-forward day do not fire twice', () => {
    assert.deepEqual(firings('0 2 * * *', BERLIN, '2024-03-30T12:00:00Z', 2), ['2024-03-31T01:00:00Z', '2024-04-01T00:00:00Z']);
    // 02:30 shifted to 03:30 CEST coincides with 03:30 itself: one firing
    assert.deepEqual(firings('30 2,3 * * *', BERLIN, '2024-03-30T12:00:00Z', 3), [
      '2024-03-31T01:30:00Z',
      '2024-04-01T00:30:00Z',
      '2024-04-01T01:30:00Z',
    ]);
  });

  it('an hour-wildcard expression skips the missing hour', () => {
    assert.deepEqual(firings('30 * * * *', BERLIN, '2024-03-31T00:00:00Z', 3), [
      '2024-03-31T00:30:00Z', // 01:30 CET
      '2024-03-31T01:30:00Z', // 03:30 CEST (02:30 does not exist)
      '2024-03-31T02:30:00Z', // 04:30 CEST
    ]);
  });

  it('30 2 * * * at fall-back: 02:30 happens twice, fires at the first only', () => {
    assert.deepEqual(firings('30 2 * * *', BERLIN, '2024-10-26T12:00:00Z', 3), [
      '2024-10-27T00:30:00Z', // 02:30 CEST
      '2024-10-28T01:30:00Z', // 02:30 CET the next day
      '2024-10-29T01:30:00Z',
    ]);
    // asked during the second pass (02:10 CET), it waits for the next day
    assert.deepEqual(firings('30 2 * * *', BERLIN, '2024-10-27T01:10:00Z', 1), ['2024-10-28T01:30:00Z']);
  });

  it('0 1 * * * at fall-back is not in the repeated hour: an ordinary day', () => {
    assert.deepEqual(firings('0 1 * * *', BERLIN, '2024-10-26T12:00:00Z', 2), [
      '2024-10-26T23:00:00Z', // 01:00 CEST
      '2024-10-28T00:00:00Z', // 01:00 CET
    ]);
  });

  it('an hour-wildcard expression fires on both passes of the repeated hour', () => {
    assert.deepEqual(firings('*/30 * * * *', BERLIN, '2024-10-26T23:50:00Z', 5), [
      '2024-10-27T00:00:00Z', // 02:00 CEST
      '2024-10-27T00:30:00Z', // 02:30 CEST
      '2024-10-27T01:00:00Z', // 02:00 CET
      '2024-10-27T01:30:00Z', // 02:30 CET
      '2024-10-27T02:00:00Z', // 03:00 CET
    ]);
  });
});

describe('cron in America/New_York across DST', () => {
  it('30 2 * * * on the spring-forward day fires at 03:30 EDT', () => {
    assert.deepEqual(firings('30 2 * * *', NEW_YORK, '2024-03-09T12:00:00Z', 3), [
      '2024-03-10T07:30:00Z', // 03:30 EDT
      '2024-03-11T06:30:00Z', // 02:30 EDT
      '2024-03-12T06:30:00Z',
    ]);
    assert.deepEqual(firings('0 2 * * *', NEW_YORK, '2024-03-09T12:00:00Z', 1), ['2024-03-10T07:00:00Z']);
  });

  it('an hour field */2 is a wildcard (Vixie cron): 02:00 is skipped, 0-23/2 is fixed hours: shifted', () => {
    assert.deepEqual(firings('0 */2 * * *', NEW_YORK, '2024-03-10T04:30:00Z', 2), [
      '2024-03-10T05:00:00Z', // 00:00 EST
      '2024-03-10T08:00:00Z', // 04:00 EDT
    ]);
    assert.deepEqual(firings('0 0-23/2 * * *', NEW_YORK, '2024-03-10T04:30:00Z', 3), [
      '2024-03-10T05:00:00Z', // 00:00 EST
      '2024-03-10T07:00:00Z', // 02:00 EST does not exist: 03:00 EDT
      '2024-03-10T08:00:00Z', // 04:00 EDT
    ]);
    // every hour listed is a wildcard too: both passes of the repeated hour in Berlin
    assert.deepEqual(firings('54 0-23 * * *', BERLIN, '2024-10-27T00:00:00Z', 3), [
      '2024-10-27T00:54:00Z', // 02:54 CEST
      '2024-10-27T01:54:00Z', // 02:54 CET
      '2024-10-27T02:54:00Z', // 03:54 CET
    ]);
  });

  it('0 1 * * * at fall-back: 01:00 EDT only, not again at 01:00 EST', () => {
    assert.deepEqual(firings('0 1 * * *', NEW_YORK, '2024-11-02T12:00:00Z', 3), [
      '2024-11-03T05:00:00Z', // 01:00 EDT
      '2024-11-04T06:00:00Z', // 01:00 EST
      '2024-11-05T06:00:00Z',
    ]);
    // asked during the second pass of 01:xx, nothing more that day
    assert.deepEqual(firings('30 1 * * *', NEW_YORK, '2024-11-03T06:10:00Z', 1), ['2024-11-04T06:30:00Z']);
  });

  it('an hour-wildcard expression keeps its cadence through the repeated hour', () => {
    assert.deepEqual(firings('*/30 * * * *', NEW_YORK, '2024-11-03T04:50:00Z', 5), [
      '2024-11-03T05:00:00Z', // 01:00 EDT
      '2024-11-03T05:30:00Z', // 01:30 EDT
      '2024-11-03T06:00:00Z', // 01:00 EST
      '2024-11-03T06:30:00Z', // 01:30 EST
      '2024-11-03T07:00:00Z', // 02:00 EST
    ]);
  });

  it('daily jobs keep their wall-clock time across both changes', () => {
    assert.deepEqual(firings('0 9 * * *', NEW_YORK, '2024-03-09T12:00:00Z', 2), [
      '2024-03-09T14:00:00Z', // 09:00 EST
      '2024-03-10T13:00:00Z', // 09:00 EDT
    ]);
    assert.deepEqual(firings('0 9 * * *', NEW_YORK, '2024-11-02T12:00:00Z', 2), [
      '2024-11-02T13:00:00Z', // 09:00 EDT
      '2024-11-03T14:00:00Z', // 09:00 EST
    ]);
  });

  it('monthly L and yearly expressions land on the local date', () => {
    // last day of the month at 23:30 New York time is the next day in UTC
    assert.deepEqual(firings('30 23 L * ?', NEW_YORK, '2024-01-01T12:00:00Z', 2), [
      '2024-02-01T04:30:00Z', // 31 Jan 23:30 EST
      '2024-03-01T04:30:00Z', // 29 Feb 23:30 EST
    ]);
    // asked at 19:00 EST on 31 December: that evening is still the last day of the month
    assert.deepEqual(firings('30 23 L * ?', NEW_YORK, '2024-01-01T00:00:00Z', 1), ['2024-01-01T04:30:00Z']);
    assert.deepEqual(firings('0 0 0 1 1 ? 2025', NEW_YORK, '2024-01-01T00:00:00Z', 2), ['2025-01-01T05:00:00Z', null]);
  });
});

describe('cron far ahead in a DST zone', () => {
  it('finds firings decades and many DST changes away', () => {
    assert.deepEqual(firings('0 0 0 1 1 ? 2090', BERLIN, '2024-01-01T00:00:00Z', 2), ['2089-12-31T23:00:00Z', null]);
    // 2030-03-31 and 2030-11-03 are the DST days of Berlin and New York that year
    assert.deepEqual(firings('0 30 2 31 3 ? 2030', BERLIN, '2024-01-01T00:00:00Z', 1), ['2030-03-31T01:30:00Z']);
    assert.deepEqual(firings('0 0 1 3 11 ? 2030', NEW_YORK, '2024-01-01T00:00:00Z', 2), ['2030-11-03T05:00:00Z', null]);
    assert.deepEqual(firings('0 0 2 3 11 ? 2030', NEW_YORK, '2024-01-01T00:00:00Z', 1), ['2030-11-03T07:00:00Z']);
  });
});
