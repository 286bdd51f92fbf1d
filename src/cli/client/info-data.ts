// What `builder info` shows, fetched as InfoExtended [26] (our extension, JSON). An original server does
// not know that command (it answers a decoding Failure); then the original Info [6] is asked and converted.
import { ClientError, ClientErrorCode as E } from '../../errors/client-error.ts';
import type { Info, Job } from '../../protocol/types.ts';
import { uuidToString } from '../../protocol/uuid.ts';
import type { InfoExtended } from '../../server/supervisor.ts';
import type { Remote } from './remote.ts';
import { callExtension, knownUnsupported } from './extension.ts';
import { call } from './session.ts';

export type { InfoExtended };

export interface InfoView extends InfoExtended {
  /** which command answered: ours, or the original's Info */
  source: 'info-extended' | 'info';
}

const NEVER = Date.UTC(9999, 0, 1);

export function platformOf(job: Job): string | null {
  return job.type === 'script' ? (job.platform ?? 'no-platform') : null;
}

/** The original's Info as an InfoExtended (what it does not carry is left empty or null). */
export function fromInfo(info: Info, now: number): InfoExtended {
  return {
    now,
    schedule: info.schedule.map((s) => ({
      name: s.job.name,
      type: s.job.type,
      platform: platformOf(s.job),
      trigger: { type: 'period', period: s.period },
      next: s.next.getTime() >= NEVER ? null : s.next.getTime(),
      timeoutSeconds: 0,
      catchUp: { type: 'one' },
      paused: false,
      pendingRuns: 0,
      lastRun: null,
    })),
    queues: info.queues.map((q) => ({ platform: q.platform, jobs: q.jobs.map((j) => j.name) })),
    runs: info.running.map((r) => ({
      uuid: uuidToString(r.uuid),
      name: r.job.name,
      platform: r.job.platform ?? 'no-platform',
      state: 'running',
      workerId: null,
      assignedAt: r.started.getTime(),
      deadline: null,
      attempts: 1,
      consoleLines: 0,
    })),
    workers: [],
    dropped: [...info.droppedPlatforms],
  };
}

/**
 * InfoExtended [26] when the server knows it, else the original's Info [6] (one more connection, once per
 * process and server: see extension.ts).
 */
export async function fetchInfo(remote: Remote): Promise<InfoView> {
  if (!knownUnsupported(remote)) {
    try {
      const reply = await callExtension(remote, { type: 'info-extended' }, 'info-extended-reply', 'extended info', '');
      let parsed: InfoExtended;
      try {
        parsed = JSON.parse(reply!.json) as InfoExtended;
      } catch (e) {
        throw new ClientError(E.UNEXPECTED_REPLY, `the server sent an InfoExtended reply that is not JSON: ${(e as Error).message}`);
      }
      return { ...parsed, source: 'info-extended' };
    } catch (e) {
      if (!(e instanceof ClientError) || e.code !== E.UNSUPPORTED) throw e;
    }
  }
  const reply = await call(remote, { type: 'info' }, 'info-reply');
  return { ...fromInfo(reply!.info, Date.now()), source: 'info' };
}
