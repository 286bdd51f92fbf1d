// Durations as the original client prints observe lines: a port of the OCaml `duration` library's
// Duration.pp (two units above a minute, three decimals below), on nanoseconds as bigint.
const SEC = 1_000_000_000n;
const MIN = 60n * SEC;
const HOUR = 60n * MIN;
const DAY = 24n * HOUR;
const YEAR = 8766n * HOUR; // 365.25 days, as the library counts a year

const pad = (n: bigint, width: number): string => n.toString().padStart(width, '0');

export function formatDuration(ns: bigint): string {
  const t = ns < 0n ? 0n : ns;
  if (t / MIN > 0n) {
    const years = t / YEAR;
    let left = t % YEAR;
    const days = left / DAY;
    left %= DAY;
    if (years > 0n) return `${years}a${days}d`;
    const hours = left / HOUR;
    left %= HOUR;
    if (days > 0n) return `${days}d${pad(hours, 2)}h`;
    const minutes = left / MIN;
    const seconds = (t - minutes * MIN) / SEC;
    if (hours > 0n) return `${hours}h${pad(minutes, 2)}m`;
    return `${minutes}m${pad(seconds, 2)}s`;
  }
  const s = t / SEC;
  let left = t - s * SEC;
  const ms = left / 1_000_000n;
  left -= ms * 1_000_000n;
  const us = left / 1000n;
  const rest = left - us * 1000n;
  if (s > 0n) return `${s}.${pad(ms, 3)}s`;
  if (ms > 0n) return `${ms}.${pad(us, 3)}ms`;
  return `${us}.${pad(rest, 3)}μs`;
}
