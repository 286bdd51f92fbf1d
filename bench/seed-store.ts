// A store with n scheduled (daily) and queued jobs, written straight through the server's persistence,
// for benches that start a server on it.
import type { Job } from '../src/protocol/types.ts';
import { newScheduleEntry, type Change } from '../src/server/persistence.ts';
import { openStorePersistence } from '../src/server/store-persistence.ts';

export async function seedStore(dir: string, n: number, platform = 'bench'): Promise<void> {
  const p = await openStorePersistence(dir);
  const now = Date.now();
  for (let start = 0; start < n; start += 5000) {
    const change: Change = { putSchedule: [], queue: [], createQueue: [platform] };
    for (let i = start; i < Math.min(n, start + 5000); i++) {
      const job: Job = { type: 'script', name: `job-${i}`, script: `echo building ${i}\n`, platform };
      change.putSchedule!.push(newScheduleEntry(job, { type: 'period', period: 'daily' }, now + 86_400_000, now, { timeoutSeconds: 3600 }));
      change.queue!.push({ op: 'push-back', platform, job });
    }
    await p.commit(change);
  }
  await p.close();
}
