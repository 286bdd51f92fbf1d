// Imports the original server's `<dir>/state` file (migration of a running deployment): its schedule,
// queues and dropped platforms. Entries whose names we already have are kept as they are.
import { readFile } from 'node:fs/promises';
import { decodeState } from '../protocol/state-codec.ts';
import type { Job } from '../protocol/types.ts';
import { newScheduleEntry, type Change } from './persistence.ts';

export interface ImportReport {
  schedule: number;
  queued: number;
  dropped: number;
  skipped: string[];
}

export async function stateFileChange(
  file: string,
  existing: { schedule: ReadonlySet<string>; queues: ReadonlyMap<string, Job[]>; dropped: ReadonlySet<string> },
  now: number,
  defaultTimeoutSeconds: number,
): Promise<{ change: Change; report: ImportReport }> {
  const items = decodeState(new Uint8Array(await readFile(file)));
  const change: Change = { putSchedule: [], queue: [], createQueue: [], putDropped: [] };
  const report: ImportReport = { schedule: 0, queued: 0, dropped: 0, skipped: [] };
  const names = new Set(existing.schedule);
  for (const item of items) {
    if (item.type === 'obsolete') {
      report.skipped.push(`obsolete state item [${item.tag}]`);
    } else if (item.type === 'schedule') {
      const { job, period, next } = item.item;
      if (names.has(job.name)) {
        report.skipped.push(`schedule entry ${job.name}: name already scheduled`);
        continue;
      }
      names.add(job.name);
      const entry = newScheduleEntry(job, { type: 'period', period }, period === 'never' ? null : next.getTime(), now, {
        timeoutSeconds: defaultTimeoutSeconds,
        origin: 'import',
      });
      change.putSchedule!.push(entry);
      report.schedule++;
    } else if (item.type === 'queue') {
      const { platform, jobs } = item.queue;
      const have = existing.queues.get(platform);
      if (!have) change.createQueue!.push(platform);
      const seen = new Set((have ?? []).map((j) => j.name));
      for (const job of jobs) {
        if (seen.has(job.name)) continue;
        seen.add(job.name);
        change.queue!.push({ op: 'push-back', platform, job });
        report.queued++;
      }
    } else if (item.type === 'dropped-platform') {
      if (!existing.dropped.has(item.platform)) {
        change.putDropped!.push(item.platform);
        report.dropped++;
      }
    }
  }
  return { change, report };
}
