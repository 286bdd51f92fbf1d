// The cron dialect of jobd (gorhill/cronexpr) in UTC: every field form and special character,
// 5/6/7 fields, macros, and what is refused. Expected instants are worked out by hand from the
// calendar (2024-01-01 is a Monday).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileCron, isValidCron, parseCron } from '../src/scheduler/cron.ts';
import { CronError } from '../src/errors/cron-error.ts';

const NOW = Date.parse('2024-01-01T00:00:00Z');
const Z = (s: string) => Date.parse(s);
const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString().replace('.000Z', 'Z'));

/** The first n firings after `from`, as ISO strings without milliseconds. */
function firings(expr: string, from: string, n: number, timeZone = 'UTC'): (string | null)[] {
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

function refused(expr: string, code: string, opts: { timeZone?: string; now?: number } = {}): void {
  assert.throws(
    () => parseCron(expr, { timeZone: 'UTC', now: NOW, ...opts }),
    (e: unknown) => e instanceof CronError && e.code === code && e.expr === expr && e.message.includes(JSON.stringify(expr)),
    `${expr} should be refused with ${code}`,
  );
}

describe('cron: field counts', () => {
  it('5 fields: minute hour dom month dow, at second 0', () => {
    assert.deepEqual(firings('15 10 * * *', '2024-01-01T00:00:00Z', 2), ['2024-01-01T10:15:00Z', '2024-01-02T10:15:00Z']);
  });

  it('6 fields: the 5 and a year at the end', () => {
    assert.deepEqual(firings('0 12 1 1 * 2030', '2024-01-01T00:00:00Z', 2), ['2030-01-01T12:00:00Z', null]);
    assert.deepEqual(firings('0 12 1 1 * 2026-2027', '2024-01-01T00:00:00Z', 3), [
      '2026-01-01T12:00:00Z',
      '2027-01-01T12:00:00Z',
      null,
    ]);
  });

  it('7 fields: seconds first and a year last', () => {
    assert.deepEqual(firings('15 30 10 1 1 ? 2025-2026', '2024-01-01T00:00:00Z', 3), [
      '2025-01-01T10:30:15Z',
      '2026-01-01T10:30:15Z',
      null,
    ]);
    assert.deepEqual(firings('*/20 * * * * ? *', '2024-01-01T00:00:00Z', 3), [
      '2024-01-01T00:00:20Z',
      '2024-01-01T00:00:40Z',
      '2024-01-01T00:01:00Z',
    ]);
  });

  it("jobd's own example: 0 0/5 * * * ? * (every five minutes)", () => {
    assert.deepEqual(firings('0 0/5 * * * ? *', '2024-01-01T00:00:00Z', 3), [
      '2024-01-01T00:05:00Z',
      '2024-01-01T00:10:00Z',
      '2024-01-01T00:15:00Z',
    ]);
    assert.deepEqual(firings('0 0/5 * * * ? *', '2024-01-01T00:58:31Z', 1), ['2024-01-01T01:00:00Z']);
  });

  it('fires strictly after the given instant, on whole seconds', () => {
    const c = parseCron('0 * * * *', { timeZone: 'UTC', now: NOW });
    assert.equal(iso(c.next(Z('2024-01-01T01:00:00Z'))), '2024-01-01T02:00:00Z');
    assert.equal(iso(c.next(Z('2024-01-01T00:59:59.999Z'))), '2024-01-01T01:00:00Z');
    assert.equal(c.next(Number.NaN), null);
  });
});

describe('cron: field forms', () => {
  it('* and ? match anything', () => {
    assert.deepEqual(firings('* * * * *', '2024-01-01T00:00:00Z', 2), ['2024-01-01T00:01:00Z', '2024-01-01T00:02:00Z']);
    assert.deepEqual(firings('0 0 ? * ?', '2024-01-01T00:00:00Z', 1), ['2024-01-02T00:00:00Z']);
  });

  it('lists, ranges, */n, a/n and a-b/n', () => {
    assert.deepEqual(firings('0-30/10,45 8 * * *', '2024-01-01T00:00:00Z', 6), [
      '2024-01-01T08:00:00Z',
      '2024-01-01T08:10:00Z',
      '2024-01-01T08:20:00Z',
      '2024-01-01T08:30:00Z',
      '2024-01-01T08:45:00Z',
      '2024-01-02T08:00:00Z',
    ]);
    assert.deepEqual(firings('5/15 * * * *', '2024-01-01T00:00:00Z', 5), [
      '2024-01-01T00:05:00Z',
      '2024-01-01T00:20:00Z',
      '2024-01-01T00:35:00Z',
      '2024-01-01T00:50:00Z',
      '2024-01-01T01:05:00Z',
    ]);
    assert.deepEqual(firings('0 */6 * * *', '2024-01-01T00:00:00Z', 3), [
      '2024-01-01T06:00:00Z',
      '2024-01-01T12:00:00Z',
      '2024-01-01T18:00:00Z',
    ]);
    assert.deepEqual(firings('0 0 1 */4 *', '2024-01-01T00:00:00Z', 3), [
      '2024-05-01T00:00:00Z',
      '2024-09-01T00:00:00Z',
      '2025-01-01T00:00:00Z',
    ]);
  });

  it('month and day names, short and long, any case; 7 is Sunday', () => {
    // 2024-03-29 is a Friday; after it, January 2025 (1 Jan is a Wednesday)
    assert.deepEqual(firings('0 9 * JAN-mar Mon-FRI', '2024-03-29T10:00:00Z', 2), [
      '2025-01-01T09:00:00Z',
      '2025-01-02T09:00:00Z',
    ]);
    assert.deepEqual(firings('0 0 1 february,December *', '2024-01-01T00:00:00Z', 2), [
      '2024-02-01T00:00:00Z',
      '2024-12-01T00:00:00Z',
    ]);
    assert.deepEqual(firings('0 0 * * 7', '2024-01-01T00:00:00Z', 2), ['2024-01-07T00:00:00Z', '2024-01-14T00:00:00Z']);
    assert.deepEqual(firings('0 0 * * sunday', '2024-01-01T00:00:00Z', 1), ['2024-01-07T00:00:00Z']);
    assert.deepEqual(firings('0 0 * * 5-7', '2024-01-01T00:00:00Z', 3), [
      '2024-01-05T00:00:00Z',
      '2024-01-06T00:00:00Z',
      '2024-01-07T00:00:00Z',
    ]);
  });

  it('day of month and day of week both restricted: either matches (cron and cronexpr)', () => {
    // September 2024: the 1st is a Sunday, Fridays are 6, 13, 20, 27; October's 13th is a Sunday
    assert.deepEqual(firings('0 0 13 * fri', '2024-09-01T00:00:00Z', 7), [
      '2024-09-06T00:00:00Z',
      '2024-09-13T00:00:00Z',
      '2024-09-20T00:00:00Z',
      '2024-09-27T00:00:00Z',
      '2024-10-04T00:00:00Z',
      '2024-10-11T00:00:00Z',
      '2024-10-13T00:00:00Z',
    ]);
    // only one restricted: only that one counts
    assert.deepEqual(firings('0 0 13 * *', '2024-09-01T00:00:00Z', 1), ['2024-09-13T00:00:00Z']);
    assert.deepEqual(firings('0 0 * * fri', '2024-09-07T00:00:00Z', 1), ['2024-09-13T00:00:00Z']);
  });

  it('L in day of month: the last day', () => {
    assert.deepEqual(firings('0 12 L * ?', '2024-01-01T00:00:00Z', 3), [
      '2024-01-31T12:00:00Z',
      '2024-02-29T12:00:00Z',
      '2024-03-31T12:00:00Z',
    ]);
  });

  it('LW: the last weekday of the month', () => {
    // 2024-03-31 is a Sunday, 2024-06-30 a Sunday
    assert.deepEqual(firings('0 12 LW * ?', '2024-02-01T00:00:00Z', 2), ['2024-02-29T12:00:00Z', '2024-03-29T12:00:00Z']);
    assert.deepEqual(firings('0 12 lw 6 ?', '2024-01-01T00:00:00Z', 1), ['2024-06-28T12:00:00Z']);
  });

  it('nW: the weekday nearest day n, never leaving the month', () => {
    // June 2024: the 1st and 15th are Saturdays, the 30th a Sunday
    assert.deepEqual(firings('0 12 15W * ?', '2024-06-01T00:00:00Z', 3), [
      '2024-06-14T12:00:00Z',
      '2024-07-15T12:00:00Z',
      '2024-08-15T12:00:00Z',
    ]);
    assert.deepEqual(firings('0 12 1W 6 ?', '2024-01-01T00:00:00Z', 1), ['2024-06-03T12:00:00Z']);
    assert.deepEqual(firings('0 12 30W 6 ?', '2024-01-01T00:00:00Z', 1), ['2024-06-28T12:00:00Z']);
  });

  it('dL in day of week: the last such day of the month', () => {
    assert.deepEqual(firings('0 12 ? * 5L', '2024-01-01T00:00:00Z', 3), [
      '2024-01-26T12:00:00Z',
      '2024-02-23T12:00:00Z',
      '2024-03-29T12:00:00Z',
    ]);
    assert.deepEqual(firings('0 12 ? * sunL', '2024-01-01T00:00:00Z', 1), ['2024-01-28T12:00:00Z']);
  });

  it('d#k in day of week: the k-th such day of the month, skipping months without one', () => {
    assert.deepEqual(firings('0 12 ? * fri#3', '2024-01-01T00:00:00Z', 3), [
      '2024-01-19T12:00:00Z',
      '2024-02-16T12:00:00Z',
      '2024-03-15T12:00:00Z',
    ]);
    // a fifth Monday: January 2024 (29th), April (29th), July (29th)
    assert.deepEqual(firings('0 0 ? * MON#5', '2024-01-01T00:00:00Z', 3), [
      '2024-01-29T00:00:00Z',
      '2024-04-29T00:00:00Z',
      '2024-07-29T00:00:00Z',
    ]);
  });

  it('29 February fires in leap years only', () => {
    assert.deepEqual(firings('0 0 0 29 2 ? *', '2024-03-01T00:00:00Z', 2), ['2028-02-29T00:00:00Z', '2032-02-29T00:00:00Z']);
  });

  it('macros', () => {
    const from = '2024-01-10T10:30:00Z'; // a Wednesday
    assert.deepEqual(firings('@yearly', from, 1), ['2025-01-01T00:00:00Z']);
    assert.deepEqual(firings('@annually', from, 1), ['2025-01-01T00:00:00Z']);
    assert.deepEqual(firings('@monthly', from, 1), ['2024-02-01T00:00:00Z']);
    assert.deepEqual(firings('@weekly', from, 1), ['2024-01-14T00:00:00Z']);
    assert.deepEqual(firings('@daily', from, 1), ['2024-01-11T00:00:00Z']);
    assert.deepEqual(firings('@midnight', from, 1), ['2024-01-11T00:00:00Z']);
    assert.deepEqual(firings('@hourly', from, 1), ['2024-01-10T11:00:00Z']);
    assert.deepEqual(firings('  @Daily ', from, 1), ['2024-01-11T00:00:00Z']);
  });

  it('describes itself and normalizes to seven fields', () => {
    const c = parseCron('0 0/5 * * * ? *', { timeZone: 'Europe/Berlin', now: NOW });
    assert.equal(c.describe(), '0 0/5 * * * ? * (Europe/Berlin)');
    assert.equal(c.timeZone, 'Europe/Berlin');
    assert.equal(parseCron('30 2 * * Mon', { timeZone: 'UTC', now: NOW }).normalized, '0 30 2 * * mon *');
    assert.equal(parseCron('@hourly', { timeZone: 'UTC', now: NOW }).normalized, '0 0 * * * ? *');
  });

  it("defaults to the server's zone", () => {
    const c = parseCron('0 0 * * *', { now: NOW });
    assert.equal(c.timeZone, new Intl.DateTimeFormat().resolvedOptions().timeZone);
  });
});

describe('cron: refused expressions', () => {
  it('wrong field counts and unknown macros', () => {
    refused('* * * *', 'ERR_CRON_FIELD_COUNT');
    refused('0 0 0 * * * * *', 'ERR_CRON_FIELD_COUNT');
    refused('', 'ERR_CRON_FIELD_COUNT');
    refused('@reboot', 'ERR_CRON_SYNTAX');
  });

  it('syntax errors', () => {
    for (const e of ['x * * * *', '1- * * * *', '1,,2 * * * *', ', * * * *', '*-5 * * * *', '1-2-3 * * * *', '0 0 * * L', '0 0 * * 5W', '0 0 L5 * *', '0 0 * foo *', '0 0 W * *', '0 0 * * 1#', '0 0 1.5 * *']) {
      refused(e, 'ERR_CRON_SYNTAX');
    }
  });

  it('step 0 and steps beyond the field', () => {
    refused('*/0 * * * *', 'ERR_CRON_STEP');
    refused('5/0 * * * *', 'ERR_CRON_STEP');
    refused('0 0-12/0 * * *', 'ERR_CRON_STEP');
    refused('*/60 * * * *', 'ERR_CRON_STEP');
  });

  it('values out of range and reversed ranges', () => {
    for (const e of ['60 * * * *', '0 24 * * *', '0 0 0 * *', '0 0 32 * *', '0 0 * 0 *', '0 0 * 13 *', '0 0 * * 8', '0 0 1 1 * 1969', '0 0 1 1 * 2100', '60 0 0 * * ? *', '0 0 ? * 5#6', '0 0 ? * 5#0', '0 0 32W * ?']) {
      refused(e, 'ERR_CRON_RANGE');
    }
    refused('30-10 * * * *', 'ERR_CRON_RANGE');
  });

  it('expressions that can never fire', () => {
    refused('0 0 30 2 *', 'ERR_CRON_NEVER');
    refused('0 0 31 4,6,9,11 *', 'ERR_CRON_NEVER');
    refused('0 0 0 29 2 ? 2025', 'ERR_CRON_NEVER');
    refused('0 0 1 1 * 2020', 'ERR_CRON_NEVER');
    // in the past relative to the given now, fine before it
    refused('0 0 1 1 * 2024', 'ERR_CRON_NEVER', { now: Z('2024-06-01T00:00:00Z') });
    assert.equal(isValidCron('0 0 1 1 * 2024', { timeZone: 'UTC', now: Z('2023-06-01T00:00:00Z') }), true);
  });

  it('unknown time zones', () => {
    refused('0 0 * * *', 'ERR_CRON_TIME_ZONE', { timeZone: 'Mars/Olympus_Mons' });
    refused('0 0 * * *', 'ERR_CRON_TIME_ZONE', { timeZone: '' });
  });

  it('compileCron skips the future check: an ended schedule just has no next', () => {
    const c = compileCron('0 0 1 1 * 2020', { timeZone: 'UTC' });
    assert.equal(c.next(NOW), null);
    assert.equal(iso(c.next(Z('2019-06-01T00:00:00Z'))), '2020-01-01T00:00:00Z');
    assert.throws(() => compileCron('*/0 * * * *', { timeZone: 'UTC' }), { code: 'ERR_CRON_STEP' });
  });
});
