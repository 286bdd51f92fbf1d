// What stalls the server's one thread, as an operator (or the bench) asks "why was that command slow?":
// garbage-collection pauses (from V8, through perf_hooks), the store's durable flushes of its log and
// the part of each checkpoint that runs on this thread (from the store, on node:diagnostics_channel
// `builder:store:flush` and `builder:store:checkpoint`). Totals since start, and the latest pauses, slow
// flushes and checkpoints with their wall-clock times, which a client can lay beside its own.
import diagnostics from 'node:diagnostics_channel';
import { constants, performance, PerformanceObserver } from 'node:perf_hooks';

/** Published by the store after each durable flush of its log: how long the write and the flush took. */
export const STORE_FLUSH_CHANNEL = 'builder:store:flush';
/** Published by the store after it handed a checkpoint's writes to LMDB, which held this thread that long. */
export const STORE_CHECKPOINT_CHANNEL = 'builder:store:checkpoint';
export interface StoreStallMessage {
  /** when it began, performance.now() */
  start: number;
  ms: number;
  bytes?: number;
}

/** A flush at least this long is kept among the recent slow ones. */
export const SLOW_FLUSH_MS = 1;
/** Recent pauses and slow flushes kept (the oldest go first). */
export const RECENT_KEPT = 256;

export type GcKind = 'minor' | 'major' | 'incremental' | 'weak-callbacks' | 'other';

export interface Stall {
  /** wall-clock start, ms since the epoch (fractional) */
  at: number;
  ms: number;
}

export interface Totals {
  count: number;
  totalMs: number;
  maxMs: number;
}

export interface ProcessStatsSnapshot {
  pid: number;
  uptimeMs: number;
  rssBytes: number;
  heapUsedBytes: number;
  gc: { byKind: Partial<Record<GcKind, Totals>>; recent: (Stall & { kind: GcKind })[] };
  storeFlush: Totals & { recentSlow: (Stall & { bytes: number })[] };
  storeCheckpoint: Totals & { recent: Stall[] };
}

function kindOf(k: number | undefined): GcKind {
  switch (k) {
    case constants.NODE_PERFORMANCE_GC_MINOR:
      return 'minor';
    case constants.NODE_PERFORMANCE_GC_MAJOR:
      return 'major';
    case constants.NODE_PERFORMANCE_GC_INCREMENTAL:
      return 'incremental';
    case constants.NODE_PERFORMANCE_GC_WEAKCB:
      return 'weak-callbacks';
    default:
      return 'other';
  }
}

const wallClock = (t: number): number => performance.timeOrigin + t;
/** to the microsecond: enough to lay beside a client's times, and short in JSON */
const us = (ms: number): number => Math.round(ms * 1000) / 1000;

function add(t: Totals, ms: number): void {
  t.count++;
  t.totalMs += ms;
  if (ms > t.maxMs) t.maxMs = ms;
}

const rounded = (t: Totals): Totals => ({ count: t.count, totalMs: us(t.totalMs), maxMs: us(t.maxMs) });

function keep<T>(ring: T[], item: T): void {
  if (ring.length >= RECENT_KEPT) ring.shift();
  ring.push(item);
}

export class ProcessStats {
  private readonly gcByKind = new Map<GcKind, Totals>();
  private readonly gcRecent: (Stall & { kind: GcKind })[] = [];
  private readonly flush: Totals = { count: 0, totalMs: 0, maxMs: 0 };
  private readonly flushRecent: (Stall & { bytes: number })[] = [];
  private readonly checkpoint: Totals = { count: 0, totalMs: 0, maxMs: 0 };
  private readonly checkpointRecent: Stall[] = [];
  private readonly observer: PerformanceObserver;
  private readonly onFlush = (m: unknown): void => {
    const f = m as StoreStallMessage;
    add(this.flush, f.ms);
    if (f.ms >= SLOW_FLUSH_MS) keep(this.flushRecent, { at: us(wallClock(f.start)), ms: us(f.ms), bytes: f.bytes ?? 0 });
  };
  private readonly onCheckpoint = (m: unknown): void => {
    const c = m as StoreStallMessage;
    add(this.checkpoint, c.ms);
    keep(this.checkpointRecent, { at: us(wallClock(c.start)), ms: us(c.ms) });
  };

  constructor() {
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const kind = kindOf(((e as { detail?: unknown }).detail as { kind?: number } | undefined)?.kind);
        let t = this.gcByKind.get(kind);
        if (!t) this.gcByKind.set(kind, (t = { count: 0, totalMs: 0, maxMs: 0 }));
        add(t, e.duration);
        keep(this.gcRecent, { at: us(wallClock(e.startTime)), ms: us(e.duration), kind });
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
    diagnostics.subscribe(STORE_FLUSH_CHANNEL, this.onFlush);
    diagnostics.subscribe(STORE_CHECKPOINT_CHANNEL, this.onCheckpoint);
  }

  snapshot(): ProcessStatsSnapshot {
    const mem = process.memoryUsage();
    return {
      pid: process.pid,
      uptimeMs: Math.round(process.uptime() * 1000),
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      gc: { byKind: Object.fromEntries([...this.gcByKind].map(([k, t]) => [k, rounded(t)])), recent: [...this.gcRecent] },
      storeFlush: { ...rounded(this.flush), recentSlow: [...this.flushRecent] },
      storeCheckpoint: { ...rounded(this.checkpoint), recent: [...this.checkpointRecent] },
    };
  }

  stop(): void {
    this.observer.disconnect();
    diagnostics.unsubscribe(STORE_FLUSH_CHANNEL, this.onFlush);
    diagnostics.unsubscribe(STORE_CHECKPOINT_CHANNEL, this.onCheckpoint);
  }
}
