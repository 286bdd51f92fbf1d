// Times for people: absolute (UTC, to the second) and relative to now ("in 3h 5m", "12s ago").
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** 2024-05-01 10:00:00Z */
export function absoluteTime(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** A span in its two largest units: 2d 3h, 3h 5m, 5m 3s, 12s, 0s. */
export function span(ms: number): string {
  let left = Math.max(0, Math.floor(Math.abs(ms) / SECOND)) * SECOND;
  const parts: string[] = [];
  for (const [unit, size] of [['d', DAY], ['h', HOUR], ['m', MINUTE], ['s', SECOND]] as const) {
    const n = Math.floor(left / size);
    left -= n * size;
    if (n > 0 || parts.length > 0) parts.push(`${n}${unit}`);
    if (parts.length === 2) break;
  }
  if (parts.length === 2 && parts[1]!.startsWith('0')) parts.pop();
  return parts.length === 0 ? '0s' : parts.join(' ');
}

/** "in 3h 5m", "5m 2s ago", "now" (within a second). */
export function relativeTime(at: number, now: number): string {
  const d = at - now;
  if (Math.abs(d) < SECOND) return 'now';
  return d > 0 ? `in ${span(d)}` : `${span(d)} ago`;
}

/** "2024-05-01 10:00:00Z (in 3h 5m)" */
export function whenText(at: number | null, now: number): string {
  if (at === null) return 'never';
  return `${absoluteTime(at)} (${relativeTime(at, now)})`;
}
