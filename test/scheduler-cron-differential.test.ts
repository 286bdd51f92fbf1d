// Our evaluator beside cron-parser (a dependency) on seeded random standard 5-field expressions in
// UTC, Europe/Berlin and America/New_York, starting around the 2024 DST changes and elsewhere.
// Both follow the same DST rules (see src/scheduler/cron.ts), so every firing must agree, with one
// deliberate difference left out here: an hour field `*/n` (n > 1) is a wildcard for us, as in
// Vixie cron (its times in a spring-forward gap are skipped), while cron-parser shifts them; the
// generator writes such a field as `0-23/n`, which both treat as fixed hours.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CronExpressionParser } from 'cron-parser';
import { parseCron } from '../src/scheduler/cron.ts';

function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

function field(r: (n: number) => number, min: number, max: number): string {
  switch (r(5)) {
    case 0:
      return '*';
    case 1:
      return String(min + r(max - min + 1));
    case 2: {
      const a = min + r(max - min + 1);
      const b = a + r(max - a + 1);
      return `${a}-${b}`;
    }
    case 3:
      return `*/${1 + r(Math.min(12, max))}`;
    default: {
      const vals = new Set<number>();
      for (let i = 0; i < 1 + r(3); i++) vals.add(min + r(max - min + 1));
      return [...vals].join(',');
    }
  }
}

function expression(r: (n: number) => number): string {
  const minute = field(r, 0, 59);
  let hour = field(r, 0, 23);
  if (hour.startsWith('*/')) hour = `0-23/${hour.slice(2)}`;
  // one day field restricted at most: the OR of both is the same in both, but keep to the common case
  const dayIsDom = r(2) === 0;
  const dom = dayIsDom ? field(r, 1, 28) : '*';
  const dow = dayIsDom ? '*' : field(r, 0, 6);
  const month = r(3) === 0 ? field(r, 1, 12) : '*';
  return `${minute} ${hour} ${dom} ${month} ${dow}`;
}

const STARTS = [
  '2024-03-30T20:00:00Z',
  '2024-03-09T20:00:00Z',
  '2024-10-26T20:00:00Z',
  '2024-11-02T20:00:00Z',
  '2024-06-15T12:34:56Z',
  '2024-12-31T23:59:00Z',
];

describe('cron against cron-parser', () => {
  for (const timeZone of ['UTC', 'Europe/Berlin', 'America/New_York']) {
    it(`agrees on 150 random expressions in ${timeZone}`, () => {
      const r = rng(timeZone.length * 7919);
      for (let k = 0; k < 150; k++) {
        const expr = expression(r);
        const from = Date.parse(STARTS[k % STARTS.length]!);
        const ours = parseCron(expr, { timeZone, now: from });
        const theirs = CronExpressionParser.parse(expr, { currentDate: new Date(from), tz: timeZone });
        let t = from;
        for (let i = 0; i < 6; i++) {
          const a = ours.next(t);
          const b = theirs.next().getTime();
          assert.equal(
            a === null ? null : new Date(a).toISOString(),
            new Date(b).toISOString(),
            `${expr} in ${timeZone}, firing ${i + 1} after ${new Date(from).toISOString()}`,
          );
          t = a!;
        }
      }
    });
  }
});
