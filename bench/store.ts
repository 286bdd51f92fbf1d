// Store figures at 1k / 10k / 100k schedule entries and queued jobs: bulk writes, durable
// single-change commits, reads, queue operations, due-index scans, cron next(), and the startup
// load (open + loadAll) the server's restart target depends on (< 2 s at 100k jobs).
// BENCH_QUICK=1 runs 1k and 10k with fewer commits and finishes in seconds.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { percentile } from './percentile.ts';
import { openLmdbStore, type LmdbStore } from '../src/store/lmdb-store.ts';
import type { ScheduleEntry } from '../src/store/store.ts';
import type { ScriptJob } from '../src/protocol/types.ts';
import { parseCron } from '../src/scheduler/cron.ts';

const quick = process.env.BENCH_QUICK === '1';
const sizes = quick ? [1_000, 10_000] : [1_000, 10_000, 100_000];
const BATCH = 1_000;
const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits });

async function timed<T>(f: () => Promise<T> | T): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await f();
  return [v, (performance.now() - t0) / 1000];
}

const job = (i: number): ScriptJob => ({
  type: 'script',
  name: `job-${i}`,
  script: `#!/bin/sh\necho building job ${i}\nmake -j2 all\n`,
  platform: 'linux',
});

function entry(i: number, base: number): ScheduleEntry {
  return {
    name: `job-${i}`,
    job: job(i),
    trigger: i % 2 ? { type: 'period', period: 'daily' } : { type: 'cron', expr: '0 */5 * * * ? *', timeZone: 'Europe/Berlin' },
    next: base + ((i * 7919) % 86_400) * 1000,
    timeoutSeconds: 3600,
    catchUp: { type: 'one' },
    paused: false,
    createdAt: base,
    origin: 'client',
  };
}

async function benchSize(n: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'builder-bench-store-'));
  let store: LmdbStore = await openLmdbStore(dir);
  const base = Date.UTC(2024, 0, 1);
  try {
    const [, tWrite] = await timed(async () => {
      for (let from = 0; from < n; from += BATCH) {
        await store.transaction((tx) => {
          for (let i = from; i < Math.min(n, from + BATCH); i++) {
            tx.putSchedule(entry(i, base));
            tx.pushBack('linux', job(i));
          }
        });
      }
    });
    console.log(`  ${fmt(n)} entries + ${fmt(n)} queued, ${BATCH}/transaction: ${fmt((2 * n) / tWrite)} writes/s (${fmt(tWrite, 2)} s)`);

    const [, tGet] = await timed(() => {
      for (let k = 0; k < n; k++) store.getSchedule(`job-${(k * 7919) % n}`);
    });
    console.log(`  getSchedule, random names: ${fmt(n / tGet)} reads/s`);

    const commits = quick ? 200 : 1000;
    const each: number[] = [];
    const [, tCommit] = await timed(async () => {
      for (let k = 0; k < commits; k++) {
        const t0 = performance.now();
        await store.transaction((tx) => tx.putSchedule(entry(k, base + 1)));
        each.push(performance.now() - t0);
      }
    });
    console.log(`  one durable change at a time (await each): ${fmt(commits / tCommit)} commits/s, median ${fmt(percentile(each, 50), 2)} ms, p99 ${fmt(percentile(each, 99), 2)} ms`);

    const [, tConcurrent] = await timed(() =>
      Promise.all(Array.from({ length: commits }, (_, k) => store.transaction((tx) => tx.putSchedule(entry(k, base + 2))))),
    );
    console.log(`  ${commits} changes in flight together (batched commits): ${fmt(commits / tConcurrent)} changes/s`);

    const ops = Math.min(n, 10_000);
    const [, tQueue] = await timed(async () => {
      for (let from = 0; from < ops; from += BATCH) {
        await store.transaction((tx) => {
          for (let i = from; i < Math.min(ops, from + BATCH); i++) {
            const j = tx.popFront('linux');
            if (j) tx.pushBack('linux', j);
            tx.pushFront('linux', job((i * 31) % n));
          }
        });
      }
    });
    console.log(`  queue pop + push-back + push-front (Execute): ${fmt((3 * ops) / tQueue)} ops/s`);

    const [due, tDue] = await timed(() => store.listDueSchedule(base + 864_000));
    console.log(`  listDueSchedule (${fmt(due.length)} of ${fmt(n)} due): ${fmt(tDue * 1000, 2)} ms`);

    await store.close();
    const [, tOpen] = await timed(async () => {
      store = await openLmdbStore(dir);
    });
    const [all, tLoad] = await timed(() => store.loadAll());
    const queued = [...all.queues.values()].reduce((a, q) => a + q.length, 0);
    console.log(
      `  startup: open ${fmt(tOpen * 1000, 1)} ms + loadAll ${fmt(tLoad * 1000, 1)} ms (${fmt(all.schedule.length)} entries, ${fmt(queued)} queued)`,
    );
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function benchCron(): void {
  for (const [expr, timeZone] of [
    ['0 */5 * * * ? *', 'UTC'],
    ['0 */5 * * * ? *', 'Europe/Berlin'],
    ['30 2 * * *', 'America/New_York'],
    ['0 12 LW * ?', 'Europe/Berlin'],
  ] as const) {
    const c = parseCron(expr, { timeZone, now: Date.UTC(2024, 0, 1) });
    const n = quick ? 5_000 : 50_000;
    let t = Date.UTC(2024, 0, 1);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) t = c.next(t) ?? t;
    const s = (performance.now() - t0) / 1000;
    console.log(`  cron next() "${expr}" in ${timeZone}: ${fmt(n / s)} /s`);
  }
}

console.log(`store bench (${quick ? 'quick' : 'full'})`);
for (const n of sizes) {
  console.log(`${fmt(n)}:`);
  await benchSize(n);
}
console.log('cron:');
benchCron();
