// The original's printers (lib/builder.ml pp_*, app/inspect.ml), byte for byte where the original's
// output is single-line; multi-line values use one line per item.
import { uuidToString } from './uuid.ts';
import type { Cmd, Exec, Job, Period, Result, ScheduleItem, ScriptJob, StateItem } from './types.ts';

const p2 = (n: number): string => String(n).padStart(2, '0');

/** Ptime.to_rfc3339 with its defaults: whole seconds (truncated), time zone unknown ("-00:00"). */
export function rfc3339(d: Date): string {
  return `${String(d.getUTCFullYear()).padStart(4, '0')}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}T${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}-00:00`;
}

/** OCaml's "%S": String.escaped between double quotes, over raw bytes. */
export function ocamlQuoted(bytes: Uint8Array): string {
  let s = '"';
  for (const b of bytes) {
    if (b === 0x22) s += '\\"';
    else if (b === 0x5c) s += '\\\\';
    else if (b === 0x0a) s += '\\n';
    else if (b === 0x09) s += '\\t';
    else if (b === 0x0d) s += '\\r';
    else if (b === 0x08) s += '\\b';
    else if (b >= 0x20 && b <= 0x7e) s += String.fromCharCode(b);
    else s += '\\' + String(b).padStart(3, '0');
  }
  return s + '"';
}

/** Duration.to_ms: the int64 read unsigned, divided (truncating) by 10^6. */
export function durationToMs(ns: bigint): bigint {
  return BigInt.asUintN(64, ns) / 1_000_000n;
}

/** Duration.pp of the original. */
export function ppDuration(ns: bigint): string {
  const t = BigInt.asUintN(64, ns);
  const MIN = 60_000_000_000n, HOUR = 60n * MIN, DAY = 24n * HOUR, YEAR = 8766n * HOUR, S = 1_000_000_000n;
  const pad = (n: bigint, w = 2): string => String(n).padStart(w, '0');
  if (t / MIN > 0n) {
    const y = t / YEAR;
    let left = t % YEAR;
    const d = left / DAY;
    left %= DAY;
    if (y > 0n) return `${y}a${d}d`;
    const h = left / HOUR;
    left %= HOUR;
    if (d > 0n) return `${d}d${pad(h)}h`;
    const min = left / MIN;
    const sec = (t - (t / MIN) * MIN) / S;
    if (h > 0n) return `${h}h${pad(min)}m`;
    return `${min}m${pad(sec)}s`;
  }
  const s = t / S, ms = (t % S) / 1_000_000n, us = (t % 1_000_000n) / 1000n, nsr = t % 1000n;
  if (s > 0n) return `${s}.${pad(ms, 3)}s`;
  if (ms > 0n) return `${ms}.${pad(us, 3)}ms`;
  return `${us}.${pad(nsr, 3)}μs`;
}

export function ppResult(r: Result): string {
  switch (r.type) {
    case 'exited':
      return `exited ${r.code}`;
    case 'signalled':
      return `signalled ${r.signal}`;
    case 'stopped':
      return `stopped ${r.signal}`;
    case 'msg':
      return `execution aborted: ${r.message}`;
  }
}

export const ppPeriod = (p: Period): string => p;

export function ppScriptJob(j: ScriptJob): string {
  return `name ${j.name} on ${j.platform ?? 'no-platform'}`;
}

export function ppJob(j: Job): string {
  return j.type === 'script' ? ppScriptJob(j) : `name ${j.name}, opam ${j.opamPackage}`;
}

export function ppScheduleItem(i: ScheduleItem): string {
  return `${ppJob(i.job)} next ${rfc3339(i.next)}, scheduled ${ppPeriod(i.period)}`;
}

export function ppStateItem(i: StateItem): string {
  switch (i.type) {
    case 'queue':
      return `queue platform ${i.queue.platform} jobs ${i.queue.jobs.map(ppJob).join(', ')}`;
    case 'schedule':
      return `schedule ${ppScheduleItem(i.item)}`;
    case 'dropped-platform':
      return `dropped platform ${i.platform}`;
    case 'obsolete':
      return `obsolete item [${i.tag}] (skipped)`;
  }
}

export function ppCmd(c: Cmd): string {
  switch (c.type) {
    case 'job-requested':
      return `job request on ${c.platform}`;
    case 'job-schedule':
      return `[${uuidToString(c.uuid)}] job schedule ${ppScriptJob(c.job)}`;
    case 'job-finished':
      return `[${uuidToString(c.uuid)}] job finished with ${ppResult(c.result)}: ${c.files.map((f) => `${f.path}: ${f.data.length}`).join('\n')}`;
    case 'output':
      return c.timestamp === undefined
        ? `[${uuidToString(c.uuid)}] ${ocamlQuoted(c.line)}`
        : `[${uuidToString(c.uuid)}] ${ppDuration(c.timestamp)}: ${ocamlQuoted(c.line)}`;
    case 'schedule':
      return `schedule at ${c.period}: ${ppScriptJob(c.job)}`;
    case 'unschedule':
      return `unschedule ${c.name}`;
    case 'info':
      return 'info';
    case 'info-reply': {
      const i = c.info;
      return [
        'info:',
        `dropped platforms: ${i.droppedPlatforms.join(' ')}`,
        'schedule:',
        ...i.schedule.map(ppScheduleItem),
        'queues:',
        ...i.queues.map((q) => `${q.platform}: ${q.jobs.map(ppJob).join('; ')}`),
        'running:',
        ...i.running.map((r) => `${ppScriptJob(r.job)},${uuidToString(r.uuid)},${rfc3339(r.started)}`),
      ].join('\n');
    }
    case 'observe':
      return `observe ${uuidToString(c.uuid)}`;
    case 'execute':
      return `execute ${c.name} on ${c.platform ?? 'any platform'}`;
    case 'schedule-orb-build':
      return `schedule orb build at ${c.period}: name ${c.job.name}, opam ${c.job.opamPackage}`;
    case 'reschedule':
      return c.period === undefined ? `reschedule ${c.name}: ${rfc3339(c.next)}` : `reschedule ${c.name} at ${c.period}: ${rfc3339(c.next)}`;
    case 'drop-platform':
      return `drop platform ${c.platform}`;
    case 'undrop-platform':
      return `undrop platform ${c.platform}`;
    case 'client-hello':
      return `client hello ${c.kind} ${c.version}`;
    case 'server-hello':
      return 'server hello';
    case 'success':
      return 'success';
    case 'failure':
      return `failure ${c.message}`;
    case 'schedule-extended': {
      const s = c.schedule;
      const parts = [ppJob(s.job)];
      if (s.period) parts.push(`period ${s.period}`);
      if (s.cron) parts.push(`cron ${JSON.stringify(s.cron)}`);
      if (s.timeZone) parts.push(`time zone ${s.timeZone}`);
      if (s.timeoutSeconds !== undefined) parts.push(`timeout ${s.timeoutSeconds}s`);
      if (s.catchUp) parts.push(`catch-up ${s.catchUp.type === 'all' ? `all (max ${s.catchUp.max})` : s.catchUp.type}`);
      return `schedule extended: ${parts.join(', ')}`;
    }
    case 'history':
      return `history ${c.name}`;
    case 'history-reply':
      return `history reply ${c.json}`;
    case 'info-extended':
      return 'info extended';
    case 'info-extended-reply':
      return `info extended reply ${c.json}`;
  }
}

/** app/inspect.ml prepare_console: start, every console line (wire order reversed), result, stop. */
export function consoleLines(e: Exec): string[] {
  const lines = [`started at ${rfc3339(e.started)}`];
  for (let i = e.console.length - 1; i >= 0; i--) {
    const l = e.console[i]!;
    lines.push(`${durationToMs(l.delta)}ms: ${ocamlQuoted(l.line)}`);
  }
  lines.push(ppResult(e.result), `stopped at ${rfc3339(e.finished)}`);
  return lines;
}
