// Why the slowest schedules were slow, measured: each of the slowest 1% is laid beside what stalled it
// at that moment. The server reports its stalls with wall-clock times (`info-extended`'s `server`:
// garbage-collection pauses, store flushes of 1 ms or more, checkpoints; src/observability/process-stats.ts);
// the client (this process) watches its own garbage collection.
import { performance, PerformanceObserver } from 'node:perf_hooks';
import type { ProcessStatsSnapshot, Stall } from '../src/observability/process-stats.ts';

/** One timed exchange, on the wall clock (ms since the epoch) so that it can be laid beside the server's stalls. */
export interface Sample {
  at: number;
  ms: number;
}

export async function timedAt(f: () => Promise<unknown>): Promise<Sample> {
  const t0 = performance.now();
  await f();
  return { at: performance.timeOrigin + t0, ms: performance.now() - t0 };
}

/** This process's garbage-collection pauses from now on, until stop(). */
export function watchOwnGc(): { pauses: Stall[]; stop(): void } {
  const pauses: Stall[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) pauses.push({ at: performance.timeOrigin + e.startTime, ms: e.duration });
  });
  observer.observe({ entryTypes: ['gc'] });
  return { pauses, stop: () => observer.disconnect() };
}

export interface Cause {
  what: string;
  stalls: Stall[];
  /** counted over the samples' whole span too, under this name */
  meanwhile?: string;
}

export interface TailCause {
  slowest: number;
  /** the quickest of the slowest 1% */
  fromMs: number;
  /** per cause (in the order given), the longest stall of each slow sample put down to it */
  byCause: { what: string; ms: number[] }[];
  neither: number;
  /** per cause with a `meanwhile` name, its stalls within the samples' span */
  meanwhile: { who: string; ms: number[] }[];
}

const overlaps = (s: Sample, t: Stall): boolean => t.at < s.at + s.ms && t.at + t.ms > s.at;

export function serverCauses(stats: ProcessStatsSnapshot, client: Stall[]): Cause[] {
  return [
    { what: 'a garbage-collection pause of the server', stalls: stats.gc.recent, meanwhile: 'the server' },
    { what: 'a garbage-collection pause of the client', stalls: client, meanwhile: 'the client' },
    { what: "a checkpoint's turn on the server's thread", stalls: stats.storeCheckpoint.recent },
    { what: 'a store flush of 1 ms or more', stalls: stats.storeFlush.recentSlow },
  ];
}

/** The slowest 1% of `samples`, each put down to the first cause with a stall overlapping it, or to none. */
export function tailCause(samples: Sample[], causes: Cause[]): TailCause {
  const slow = [...samples].sort((a, b) => b.ms - a.ms).slice(0, Math.max(1, Math.round(samples.length / 100)));
  const from = Math.min(...samples.map((s) => s.at));
  const to = Math.max(...samples.map((s) => s.at + s.ms));
  const byCause = causes.map((c) => ({ what: c.what, ms: [] as number[] }));
  let neither = 0;
  for (const s of slow) {
    const i = causes.findIndex((c) => c.stalls.some((t) => overlaps(s, t)));
    if (i < 0) neither++;
    else byCause[i]!.ms.push(Math.max(...causes[i]!.stalls.filter((t) => overlaps(s, t)).map((t) => t.ms)));
  }
  return {
    slowest: slow.length,
    fromMs: slow[slow.length - 1]!.ms,
    byCause,
    neither,
    meanwhile: causes.flatMap((c) => (c.meanwhile === undefined ? [] : [{ who: c.meanwhile, ms: c.stalls.filter((t) => t.at >= from && t.at <= to).map((t) => t.ms) }])),
  };
}

const range = (xs: number[]): string => {
  if (xs.length === 0) return '';
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return lo === hi ? ` (${lo.toFixed(1)} ms)` : ` (${lo.toFixed(1)}–${hi.toFixed(1)} ms)`;
};

export function tailText(c: TailCause): string {
  const parts = c.byCause.filter((b) => b.ms.length > 0).map((b) => `${b.ms.length} in ${b.what}${range(b.ms)}`);
  return (
    `of the ${c.slowest} slowest (from ${c.fromMs.toFixed(2)} ms): ${[...parts, `${c.neither} in none of these`].join(', ')}; ` +
    `meanwhile, pauses for GC: ${c.meanwhile.map((m) => `${m.who} ${m.ms.length}${range(m.ms)}`).join(', ')}`
  );
}
