// A store with n scheduled (daily) and queued jobs, written straight through the server's persistence,
// for benches that start a server on it. Written by a child process: the bench that asks for it then
// measures as a client, and a client that had just built 100k jobs in its own heap would pay for them
// in every garbage collection (5–9 ms young-generation pauses, measured) where `builder schedule` pays nothing.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Job } from '../src/protocol/types.ts';
import { newScheduleEntry, type Change } from '../src/server/persistence.ts';
import { openStorePersistence } from '../src/server/store-persistence.ts';

async function seedHere(dir: string, n: number, platform: string): Promise<void> {
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

export async function seedStore(dir: string, n: number, platform = 'bench'): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), dir, String(n), platform], { stdio: ['ignore', 'inherit', 'inherit'] });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  });
  if (code !== 0) throw new Error(`seeding ${n} jobs into ${dir} failed (exit ${code})`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [dir, n, platform] = process.argv.slice(2);
  await seedHere(dir!, Number(n), platform!);
}
