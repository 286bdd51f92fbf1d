// Catch-up after downtime: one (the original), skip, all with a max, for periods and cron.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { catchUp, DEFAULT_CATCH_UP, MAX_COUNTED, missedOccurrences } from '../src/scheduler/catch-up.ts';
import { TestClock } from '../src/scheduler/clock.ts';
import type { Trigger } from '../src/store/store.ts';

const H = 3_600_000;
const DAY = 24 * H;
const WEEK = 7 * DAY;
const T0 = Date.parse('2024-01-01T00:00:00Z'); // a Monday
const daily: Trigger = { type: 'period', period: 'daily' };
const hourlyCron: Trigger = { type: 'cron', expr: '0 * * * *', timeZone: 'UTC' };

describe('catch-up', () => {
  it('nothing is due: no run, next unchanged', () => {
    assert.deepEqual(catchUp(daily, T0 + 1, DEFAULT_CATCH_UP, T0), { runs: 0, next: T0 + 1, missed: 0, latest: null });
    assert.deepEqual(catchUp({ type: 'period', period: 'never' }, null, { type: 'all', max: 5 }, T0), {
      runs: 0,
      next: null,
      missed: 0,
      latest: null,
    });
  });

  it('an on-time tick: one run whatever the policy', () => {
    for (const policy of [{ type: 'one' }, { type: 'skip' }, { type: 'all', max: 3 }] as const) {
      const d = catchUp(daily, T0, policy, T0 + 30_000);
      assert.equal(d.runs, 1, policy.type);
      assert.equal(d.missed, 1);
      assert.equal(d.next, T0 + 30_000 + DAY);
    }
  });

  describe('a week of downtime, daily period (8 occurrences: T0 ... T0 + 7 days)', () => {
    const now = T0 + WEEK + 5 * 60_000;

    it('one (the default, the original): a single run, next = now + 1 day', () => {
      assert.deepEqual(catchUp(daily, T0, DEFAULT_CATCH_UP, now), { runs: 1, next: now + DAY, missed: 8, latest: T0 + WEEK });
    });

    it('all: every missed run, up to max', () => {
      assert.equal(catchUp(daily, T0, { type: 'all', max: 100 }, now).runs, 8);
      assert.deepEqual(catchUp(daily, T0, { type: 'all', max: 3 }, now), { runs: 3, next: now + DAY, missed: 3, latest: T0 + WEEK });
      assert.equal(catchUp(daily, T0, { type: 'all', max: 0 }, now).runs, 1);
    });

    it('skip: the last occurrence was 5 minutes ago, past the grace: no run', () => {
      assert.deepEqual(catchUp(daily, T0, { type: 'skip' }, now), { runs: 0, next: now + DAY, missed: 8, latest: T0 + WEEK });
      // within the grace the latest occurrence is merely late, and runs
      assert.equal(catchUp(daily, T0, { type: 'skip' }, T0 + WEEK + 30_000).runs, 1);
      assert.equal(catchUp(daily, T0, { type: 'skip' }, now, { graceMs: 10 * 60_000 }).runs, 1);
    });
  });

  describe('a week of downtime, hourly cron (169 occurrences)', () => {
    const now = T0 + WEEK + 10 * 60_000;

    it('one: a single run; next is the first occurrence after now', () => {
      assert.deepEqual(catchUp(hourlyCron, T0, { type: 'one' }, now), {
        runs: 1,
        next: T0 + WEEK + H,
        missed: 169,
        latest: T0 + WEEK,
      });
    });

    it('all: 169 runs when max allows, max otherwise', () => {
      assert.equal(catchUp(hourlyCron, T0, { type: 'all', max: 1000 }, now).runs, 169);
      assert.equal(catchUp(hourlyCron, T0, { type: 'all', max: 24 }, now).runs, 24);
    });

    it('skip: none, the last occurrence is 10 minutes old', () => {
      assert.equal(catchUp(hourlyCron, T0, { type: 'skip' }, now).runs, 0);
      assert.equal(catchUp(hourlyCron, T0, { type: 'skip' }, T0 + WEEK + 59_000).runs, 1);
    });
  });

  it('an every-second cron after a week: counting stops at the bound, skip still finds the latest', () => {
    const everySecond: Trigger = { type: 'cron', expr: '* * * * * ? *', timeZone: 'UTC' };
    const now = T0 + WEEK + 500;
    const d = catchUp(everySecond, T0, { type: 'skip' }, now);
    assert.equal(d.missed, MAX_COUNTED);
    assert.equal(d.latest, T0 + WEEK);
    assert.equal(d.runs, 1);
    assert.equal(d.next, T0 + WEEK + 1000);
  });

  it('cron across the New York fall-back: one run per local day', () => {
    const oneAm: Trigger = { type: 'cron', expr: '0 1 * * *', timeZone: 'America/New_York' };
    const next = Date.parse('2024-11-02T05:00:00Z'); // 01:00 EDT
    const now = Date.parse('2024-11-05T12:00:00Z');
    const m = missedOccurrences(oneAm, next, now);
    // 2 Nov 05:00Z, 3 Nov 05:00Z (EDT, not again at 06:00Z), 4 Nov 06:00Z, 5 Nov 06:00Z
    assert.deepEqual(m, { missed: 4, latest: Date.parse('2024-11-05T06:00:00Z') });
    assert.deepEqual(catchUp(oneAm, next, { type: 'all', max: 10 }, now), {
      runs: 4,
      next: Date.parse('2024-11-06T06:00:00Z'),
      missed: 4,
      latest: Date.parse('2024-11-05T06:00:00Z'),
    });
  });

  it('a server down for a week then ticking again on the clock', () => {
    const clock = new TestClock(T0);
    let next: number | null = T0 + H;
    let queued = 0;
    const tick = () => {
      const d = catchUp(hourlyCron, next, { type: 'all', max: 50 }, clock.now());
      queued += d.runs;
      next = d.next;
    };
    // down: no ticks for a week, then one tick at restart and ticks every minute for an hour
    clock.advance(WEEK + 90_000);
    tick();
    assert.equal(queued, 50);
    const tickEveryMinute = () => {
      tick();
      clock.setTimeout(tickEveryMinute, 60_000);
    };
    clock.setTimeout(tickEveryMinute, 60_000);
    clock.advance(H);
    assert.equal(queued, 51);
    assert.equal(next, T0 + WEEK + 2 * H);
  });
});
