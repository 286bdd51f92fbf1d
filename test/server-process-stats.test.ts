// The server's account of what stalled it (GC pauses, store flushes, checkpoints), in `info-extended`.
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProcessStats, RECENT_KEPT, SLOW_FLUSH_MS, STORE_CHECKPOINT_CHANNEL, STORE_FLUSH_CHANNEL, type ProcessStatsSnapshot } from '../src/observability/process-stats.ts';
import type { Cmd } from '../src/protocol/types.ts';
import { CHECKPOINT_MS } from '../src/store/wal-committer.ts';
import { clientCall, outcome, startFixture, type Fixture } from './helpers/server-fixture.ts';

async function serverStats(port: number): Promise<ProcessStatsSnapshot> {
  const replies = await clientCall(port, { type: 'info-extended' });
  const reply = replies[0] as Extract<Cmd, { type: 'info-extended-reply' }>;
  assert.equal(reply.type, 'info-extended-reply');
  const server = (JSON.parse(reply.json) as { server?: ProcessStatsSnapshot }).server;
  assert.ok(server, 'info-extended carries the server process stats');
  return server;
}

describe('server process stats', () => {
  let fx: Fixture;
  before(async () => {
    fx = await startFixture();
  });
  after(() => fx.close());

  test('info-extended counts the store flushes of the commands and the checkpoints that follow', async () => {
    const before = await serverStats(fx.port);
    assert.equal(before.pid, process.pid);
    assert.ok(before.rssBytes > 0 && before.heapUsedBytes > 0);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'daily', job: { type: 'script', name: `s${i}`, script: 'true', platform: 'p' } }), { type: 'success' });
    }
    await sleep(3 * CHECKPOINT_MS);
    const now = await serverStats(fx.port);
    assert.ok(now.storeFlush.count >= before.storeFlush.count + 3, `3 schedules, 3 flushes at least: ${before.storeFlush.count} -> ${now.storeFlush.count}`);
    assert.ok(now.storeFlush.totalMs > before.storeFlush.totalMs);
    assert.ok(now.storeCheckpoint.count > before.storeCheckpoint.count, 'a checkpoint wrote the schedules into LMDB');
    const last = now.storeCheckpoint.recent.at(-1)!;
    assert.ok(Math.abs(last.at - Date.now()) < 60_000, 'a checkpoint is dated on the wall clock');
  });

  test('garbage-collection pauses are counted by kind and listed with their wall-clock time', async () => {
    const before = (await serverStats(fx.port)).gc.byKind.minor?.count ?? 0;
    let keep: unknown[] = [];
    let stats: ProcessStatsSnapshot;
    const t0 = Date.now();
    do {
      // short-lived garbage: young-generation collections
      for (let i = 0; i < 200_000; i++) keep.push({ i });
      keep = [];
      await sleep(1);
      stats = await serverStats(fx.port);
    } while ((stats.gc.byKind.minor?.count ?? 0) === before && Date.now() - t0 < 10_000);
    assert.ok(stats.gc.byKind.minor!.count > before, 'a minor collection was seen');
    const recent = stats.gc.recent.filter((g) => g.kind === 'minor').at(-1)!;
    assert.ok(recent.ms >= 0 && Math.abs(recent.at - Date.now()) < 60_000);
  });
});

describe('process stats from the store channels', () => {
  test('a flush of 1 ms or more is kept with its size, a quicker one only counted; the latest are kept, the oldest dropped', () => {
    const stats = new ProcessStats();
    try {
      const flush = diagnostics.channel(STORE_FLUSH_CHANNEL);
      const start = performance.now();
      flush.publish({ start, ms: SLOW_FLUSH_MS / 4, bytes: 100 });
      flush.publish({ start, ms: SLOW_FLUSH_MS * 3, bytes: 200 });
      let s = stats.snapshot();
      assert.equal(s.storeFlush.count, 2);
      assert.equal(s.storeFlush.maxMs, SLOW_FLUSH_MS * 3);
      assert.deepEqual(s.storeFlush.recentSlow.map((f) => [f.ms, f.bytes]), [[SLOW_FLUSH_MS * 3, 200]]);
      assert.ok(Math.abs(s.storeFlush.recentSlow[0]!.at - (performance.timeOrigin + start)) < 0.01);
      const checkpoint = diagnostics.channel(STORE_CHECKPOINT_CHANNEL);
      for (let i = 0; i < RECENT_KEPT + 5; i++) checkpoint.publish({ start: performance.now(), ms: i });
      s = stats.snapshot();
      assert.equal(s.storeCheckpoint.count, RECENT_KEPT + 5);
      assert.equal(s.storeCheckpoint.recent.length, RECENT_KEPT);
      assert.equal(s.storeCheckpoint.recent[0]!.ms, 5);
    } finally {
      stats.stop();
    }
  });

  test('once stopped, it hears nothing more', () => {
    const stats = new ProcessStats();
    stats.stop();
    diagnostics.channel(STORE_FLUSH_CHANNEL).publish({ start: performance.now(), ms: 5, bytes: 1 });
    assert.equal(stats.snapshot().storeFlush.count, 0);
  });
});
