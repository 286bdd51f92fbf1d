// The observe timestamps are the OCaml duration library's Duration.pp (which the original client uses),
// checked on the boundaries of each of its branches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration } from '../src/cli/client/duration.ts';
import { relativeTime, span } from '../src/cli/client/time-text.ts';

const S = 1_000_000_000n;

test('below a minute: three decimals of the largest unit', () => {
  assert.equal(formatDuration(0n), '0.000μs');
  assert.equal(formatDuration(999n), '0.999μs');
  assert.equal(formatDuration(1_500n), '1.500μs');
  assert.equal(formatDuration(1_234_567n), '1.234ms');
  assert.equal(formatDuration(1_500_000_000n), '1.500s');
  assert.equal(formatDuration(59n * S + 999_999_999n), '59.999s');
});

test('a minute and more: two units, the second padded', () => {
  assert.equal(formatDuration(60n * S), '1m00s');
  assert.equal(formatDuration(65n * S), '1m05s');
  assert.equal(formatDuration(3599n * S), '59m59s');
  assert.equal(formatDuration(3661n * S), '1h01m');
  assert.equal(formatDuration(90_000n * S), '1d01h');
  assert.equal(formatDuration(400n * 86_400n * S), '1a34d'); // a year is 365.25 days
  assert.equal(formatDuration(-5n), '0.000μs');
});

test('relative times for the tables', () => {
  assert.equal(span(0), '0s');
  assert.equal(span(61_000), '1m 1s');
  assert.equal(span(3_600_000), '1h');
  assert.equal(span(86_400_000 + 7_200_000 + 1_000), '1d 2h');
  assert.equal(relativeTime(10_000, 10_400), 'now');
  assert.equal(relativeTime(70_000, 10_000), 'in 1m');
  assert.equal(relativeTime(10_000, 75_000), '1m 5s ago');
});
