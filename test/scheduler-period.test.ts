// The original's periods and triggers: next = now + period, 'never' runs once; cron triggers
// wait for their first occurrence.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isPeriod, nextPeriodRun, periodMs, PERIODS } from '../src/scheduler/period.ts';
import { firstRun, nextRun, validateTrigger } from '../src/scheduler/trigger.ts';
import { TestClock } from '../src/scheduler/clock.ts';

const H = 3_600_000;
const T0 = Date.parse('2024-01-01T10:17:00Z');

describe('periods', () => {
  it('have the original lengths; never has none', () => {
    assert.deepEqual(PERIODS, ['hourly', 'daily', 'weekly', 'never']);
    assert.equal(periodMs('hourly'), H);
    assert.equal(periodMs('daily'), 24 * H);
    assert.equal(periodMs('weekly'), 7 * 24 * H);
    assert.equal(periodMs('never'), null);
    assert.equal(isPeriod('daily'), true);
    assert.equal(isPeriod('monthly'), false);
    assert.equal(isPeriod(undefined), false);
  });

  it('next = now + period, counted from when it ran, not from when it was due', () => {
    assert.equal(nextPeriodRun('hourly', T0), T0 + H);
    assert.equal(nextPeriodRun('weekly', T0), T0 + 7 * 24 * H);
    assert.equal(nextPeriodRun('never', T0), null);
    // due at T0, handled 90 s late: the next is 90 s later too (the original drifts so)
    assert.equal(nextRun({ type: 'period', period: 'daily' }, T0, T0 + 90_000), T0 + 90_000 + 24 * H);
  });
});

describe('triggers', () => {
  it('a new periodic entry is queued at once; a cron one waits for its time', () => {
    assert.deepEqual(firstRun({ type: 'period', period: 'hourly' }, T0), { queueNow: true, next: T0 + H });
    assert.deepEqual(firstRun({ type: 'period', period: 'never' }, T0), { queueNow: true, next: null });
    assert.deepEqual(firstRun({ type: 'cron', expr: '0 12 * * *', timeZone: 'UTC' }, T0), {
      queueNow: false,
      next: Date.parse('2024-01-01T12:00:00Z'),
    });
  });

  it('the next cron time after a run is after both the handled occurrence and now', () => {
    const daily = { type: 'cron' as const, expr: '0 12 * * *', timeZone: 'Europe/Berlin' };
    const due = Date.parse('2024-01-01T11:00:00Z'); // 12:00 CET
    assert.equal(nextRun(daily, due, due), Date.parse('2024-01-02T11:00:00Z'));
    // handled three days late: the next is after now, not the day after `due`
    assert.equal(nextRun(daily, due, due + 3 * 24 * H + 60_000), Date.parse('2024-01-05T11:00:00Z'));
    // an ended cron schedule has no next, and is no error
    assert.equal(nextRun({ type: 'cron', expr: '0 0 1 1 * 2020', timeZone: 'UTC' }, T0, T0), null);
  });

  it('validates what a client asks for with stable codes', () => {
    assert.doesNotThrow(() => validateTrigger({ type: 'period', period: 'daily' }, T0));
    assert.doesNotThrow(() => validateTrigger({ type: 'cron', expr: '@daily', timeZone: 'America/New_York' }, T0));
    assert.throws(() => validateTrigger({ type: 'cron', expr: '0 0 30 2 *', timeZone: 'UTC' }, T0), { code: 'ERR_CRON_NEVER' });
    assert.throws(() => validateTrigger({ type: 'cron', expr: '*/0 * * * *', timeZone: 'UTC' }, T0), { code: 'ERR_CRON_STEP' });
    assert.throws(() => validateTrigger({ type: 'cron', expr: '@daily', timeZone: 'Nowhere/Land' }, T0), {
      code: 'ERR_CRON_TIME_ZONE',
    });
  });

  it('driven by a clock: an hourly entry ticked every 60 s runs once an hour', () => {
    const clock = new TestClock(T0);
    const trigger = { type: 'period' as const, period: 'hourly' as const };
    const first = firstRun(trigger, clock.now());
    let next = first.next;
    const runs: number[] = first.queueNow ? [clock.now()] : [];
    const tick = () => {
      const now = clock.now();
      if (next !== null && next <= now) {
        runs.push(now);
        next = nextRun(trigger, next, now);
      }
      clock.setTimeout(tick, 60_000);
    };
    clock.setTimeout(tick, 60_000);
    clock.advance(24 * H);
    assert.equal(runs.length, 25);
    for (let i = 1; i < runs.length; i++) assert.equal(runs[i]! - runs[i - 1]!, H);
  });
});
