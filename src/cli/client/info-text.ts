// `builder info` as readable tables, and the original client's text (Builder.pp_info) for --original-format.
import type { Info, Job, ScriptJob } from '../../protocol/types.ts';
import { uuidToString } from '../../protocol/uuid.ts';
import type { InfoView } from './info-data.ts';
import type { Style } from './style.ts';
import { resultStyle } from './style.ts';
import { section } from './table.ts';
import { absoluteTime, relativeTime, span, whenText } from './time-text.ts';

type Entry = InfoView['schedule'][number];

function triggerText(e: Entry): string {
  const t = e.trigger.type === 'period' ? e.trigger.period : `cron ${e.trigger.expr}${e.trigger.timeZone ? ` ${e.trigger.timeZone}` : ''}`;
  return e.paused ? `${t} (stopped)` : t;
}

export function infoTables(info: InfoView, style: Style): string {
  const now = info.now;
  const full = info.source === 'info-extended';
  const schedule = section(
    'SCHEDULE',
    full ? ['NAME', 'PLATFORM', 'TRIGGER', 'NEXT RUN', 'TIMEOUT', 'LAST RUN'] : ['NAME', 'PLATFORM', 'TRIGGER', 'NEXT RUN'],
    info.schedule.map((e) => {
      const row = [e.name, e.platform ?? 'every (orb build)', triggerText(e), e.paused ? 'stopped' : whenText(e.next, now)];
      if (!full) return row;
      const last = e.lastRun ? `${resultStyle(style, e.lastRun.resultText)} (${relativeTime(e.lastRun.finishedAt, now)})` : '-';
      return [...row, span(e.timeoutSeconds * 1000), last];
    }),
    style,
  );
  const queues = section(
    'QUEUES',
    ['PLATFORM', 'JOBS'],
    info.queues.map((q) => [q.platform, q.jobs.length ? q.jobs.join(', ') : style.dim('(empty)')]),
    style,
  );
  const running = section(
    'RUNNING',
    full ? ['UUID', 'JOB', 'PLATFORM', 'STATE', 'WORKER', 'STARTED', 'ELAPSED', 'DEADLINE'] : ['UUID', 'JOB', 'PLATFORM', 'STARTED', 'ELAPSED'],
    info.runs.map((r) => {
      const started = r.assignedAt === null ? '-' : absoluteTime(r.assignedAt);
      const elapsed = r.assignedAt === null ? '-' : span(now - r.assignedAt);
      if (!full) return [r.uuid, r.name, r.platform, started, elapsed];
      return [r.uuid, r.name, r.platform, r.state, r.workerId ?? '-', started, elapsed, r.deadline === null ? '-' : whenText(r.deadline, now)];
    }),
    style,
  );
  const workers = full
    ? section(
        'WORKERS',
        ['ID', 'REMOTE', 'STATE', 'PLATFORM', 'JOB', 'CONNECTED'],
        info.workers.map((w) => [w.id, w.remote, w.state, w.platform ?? '-', w.uuid ?? '-', relativeTime(w.connectedAt, now)]),
        style,
      )
    : `${style.bold(style.cyan('WORKERS'))}\n${style.dim('(not reported by this server)')}`;
  const dropped = `${style.bold(style.cyan('DROPPED PLATFORMS'))}\n${info.dropped.length ? info.dropped.join(', ') : style.dim('(none)')}`;
  return [schedule, queues, running, workers, dropped].join('\n\n');
}

// ---- the original's text ----

/** Ptime.pp_rfc3339 () without an offset: 2024-05-01T10:00:00-00:00 */
function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, '-00:00');
}

function scriptJobText(j: ScriptJob): string {
  return `name ${j.name} on ${j.platform ?? 'no-platform'}`;
}

function jobText(j: Job): string {
  return j.type === 'script' ? scriptJobText(j) : `name ${j.name}, opam ${j.opamPackage}`;
}

/** "info:" and Builder.pp_info, as the original client prints an InfoReply. */
export function originalInfoText(info: Info): string {
  return [
    'info:',
    `dropped platforms: ${info.droppedPlatforms.join(' ')}`,
    'schedule:',
    info.schedule.map((s) => `${jobText(s.job)} next ${rfc3339(s.next)}, scheduled ${s.period}`).join(';\n'),
    'queues:',
    info.queues.map((q) => `${q.platform}: ${q.jobs.map(jobText).join('; ')}`).join('\n'),
    'running:',
    info.running.map((r) => `${scriptJobText(r.job)},${uuidToString(r.uuid)},${rfc3339(r.started)}`).join(';\n'),
    '',
  ].join('\n');
}
