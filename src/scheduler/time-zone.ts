// UTC offsets of IANA time zones from Intl, and the instants where they change (DST transitions).
// "Local ms" below is a wall-clock time encoded as if it were UTC: Date.UTC(y, m, d, h, mi, s).

const DAY = 86_400_000;

const UTC_NAMES = new Set(['UTC', 'Etc/UTC', 'Etc/UCT', 'UCT', 'Etc/Universal', 'Universal', 'Etc/Zulu', 'Zulu', 'GMT', 'Etc/GMT', 'Etc/GMT0', 'Etc/GMT+0', 'Etc/GMT-0', 'GMT0', 'GMT+0', 'GMT-0', 'Etc/Greenwich', 'Greenwich']);

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The server's own zone (what cron uses when a job names none). */
export function systemTimeZone(): string {
  return new Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** Whether Intl knows the zone (IANA names, "UTC", fixed "Etc/GMT+5" ...). */
export function isValidTimeZone(timeZone: string): boolean {
  if (typeof timeZone !== 'string' || timeZone.length === 0) return false;
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

export function isUtc(timeZone: string): boolean {
  return UTC_NAMES.has(timeZone);
}

/** local - UTC in ms at the instant (whole seconds). */
export function offsetAt(timeZone: string, instant: number): number {
  if (isUtc(timeZone)) return 0;
  const whole = Math.floor(instant / 1000) * 1000;
  let y = 0;
  let mo = 0;
  let d = 0;
  let h = 0;
  let mi = 0;
  let s = 0;
  let bc = false;
  for (const p of formatter(timeZone).formatToParts(whole)) {
    switch (p.type) {
      case 'year':
        y = Number(p.value);
        break;
      case 'month':
        mo = Number(p.value);
        break;
      case 'day':
        d = Number(p.value);
        break;
      case 'hour':
        h = Number(p.value);
        break;
      case 'minute':
        mi = Number(p.value);
        break;
      case 'second':
        s = Number(p.value);
        break;
      case 'era':
        bc = p.value.startsWith('B');
        break;
    }
  }
  if (bc) y = 1 - y;
  const local = new Date(0);
  local.setUTCFullYear(y, mo - 1, d);
  local.setUTCHours(h, mi, s, 0);
  return local.getTime() - whole;
}

/**
 * The first instant in (from, to] whose offset differs from the offset at `from`, or null.
 * Zones change offset at most once within a day (true of every zone in use), which lets the
 * search probe day by day and then bisect to the second.
 */
export function firstTransition(timeZone: string, from: number, to: number): number | null {
  if (isUtc(timeZone) || to <= from) return null;
  const o = offsetAt(timeZone, from);
  let lo = from;
  let hi: number | null = null;
  for (let probe = Math.min(from + DAY, to); ; probe = Math.min(probe + DAY, to)) {
    if (offsetAt(timeZone, probe) !== o) {
      hi = probe;
      break;
    }
    if (probe >= to) return null;
    lo = probe;
  }
  // offset(lo) === o, offset(hi) !== o: bisect on whole seconds (offsets change on whole seconds)
  let loS = Math.floor(lo / 1000);
  let hiS = Math.floor(hi / 1000);
  while (hiS - loS > 1) {
    const mid = Math.floor((loS + hiS) / 2);
    if (offsetAt(timeZone, mid * 1000) === o) loS = mid;
    else hiS = mid;
  }
  return hiS * 1000;
}
