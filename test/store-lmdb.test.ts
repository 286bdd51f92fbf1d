// The LMDB store: the conformance suite, plus what only a real LMDB directory shows: a read-only
// reader in another process beside the writer, a crash right after a commit, the shared
// environment for the web frontend, schema versions.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLmdbStore, STORE_SCHEMA_VERSION, type LmdbStore } from '../src/store/lmdb-store.ts';
import { META_SCHEMA_VERSION, type Store } from '../src/store/store.ts';
import { SYNC_BATCH_MAX } from '../src/store/commit-batcher.ts';
import { STORE_DBS } from '../src/store/lmdb-keys.ts';
import { isCompact } from '../src/store/record-codec.ts';
import { open } from 'lmdb';
import type { Job } from '../src/protocol/types.ts';
import { entry, orb, runStoreConformance, script } from './store-conformance-suite.ts';
import { child, withDir } from './helpers/store-process.ts';


for (const [name, wal] of [['lmdb', false], ['lmdb with the write-ahead log', true]] as const) {
  runStoreConformance(name, async (opts) => {
    const dir = await mkdtemp(join(tmpdir(), 'builder-store-'));
    let current: Store = await openLmdbStore(dir, { ...opts, wal });
    return {
      store: current,
      async reopen() {
        await current.close();
        current = await openLmdbStore(dir, { ...opts, wal });
        return current;
      },
      async cleanup() {
        await current.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  });
}

describe('LMDB store', () => {
  it('a read-only reader in another process reads beside the writer, sees new commits on refresh, cannot write', async () => {
    await withDir(async (dir) => {
      const w = await openLmdbStore(dir);
      try {
        await w.transaction((tx) => {
          tx.putSchedule(entry('a', 1000));
          tx.pushBack('linux', script('a'));
          tx.addDropped('old');
        });
        const r = child(['dump', dir]);
        const first = JSON.parse(await r.line());
        assert.deepEqual(first.schedule.map((e: { name: string }) => e.name), ['a']);
        assert.deepEqual(first.queues, [['linux', [script('a')]]]);
        assert.deepEqual(first.dropped, ['old']);
        r.send('tx');
        assert.equal(await r.line(), 'ERR_STORE_READ_ONLY');
        await w.transaction((tx) => {
          tx.pushFront('linux', script('b'));
          tx.deleteSchedule('a');
        });
        r.send('refresh');
        const second = JSON.parse(await r.line());
        assert.deepEqual(second.schedule, []);
        assert.deepEqual(second.queues, [['linux', [script('b'), script('a')]]]);
        r.end();
        assert.deepEqual(await r.exited, { code: 0, signal: null }, r.stderr());
        // and the writer goes on writing after the reader left
        await w.transaction((tx) => tx.setMeta('after', 1));
        assert.equal(w.getMeta('fromReader'), undefined);
        assert.equal(w.getMeta('after'), 1);
      } finally {
        await w.close();
      }
    });
  });

  it('a lazy transaction waits one more turn: one asked for in the next turn shares its commit, and both survive a reopen', async () => {
    await withDir(async (dir) => {
      let s = await openLmdbStore(dir);
      try {
        const seen: string[] = [];
        const lazy = s.transaction(() => void seen.push('lazy runs'), { lazy: true }).then(() => seen.push('lazy durable'));
        let next: Promise<unknown> | undefined;
        setImmediate(() => {
          next = s.transaction((tx) => {
            seen.push('next runs');
            tx.setMeta('next', 1);
          }).then(() => seen.push('next durable'));
        });
        await lazy;
        await next;
        // a transaction of its own would have made the lazy one durable before the next one ran
        assert.deepEqual(seen, ['lazy runs', 'next runs', 'lazy durable', 'next durable']);
        await s.close();
        s = await openLmdbStore(dir);
        assert.equal(s.getMeta('next'), 1);
      } finally {
        await s.close();
      }
    });
  });

  for (const together of [1, SYNC_BATCH_MAX, SYNC_BATCH_MAX + 1, 50]) {
    it(`${together} transactions asked for in one turn: each commits or rolls back alone, in order, and survives a reopen`, async () => {
      await withDir(async (dir) => {
        let s = await openLmdbStore(dir);
        try {
          const failing = together - 1;
          const results = await Promise.allSettled(
            Array.from({ length: together }, (_, i) =>
              s.transaction((tx) => {
                tx.pushBack('q', script(`j${i}`));
                tx.setMeta(`m${i}`, i);
                if (i === failing && together > 1) throw new Error(`change ${i} refused`);
                return i;
              }),
            ),
          );
          const expected = Array.from({ length: together }, (_, i) => i).filter((i) => i !== failing || together === 1);
          results.forEach((r, i) => {
            if (expected.includes(i)) assert.deepEqual(r, { status: 'fulfilled', value: i });
            else assert.equal(r.status === 'rejected' && (r.reason as Error).message, `change ${i} refused`);
          });
          await s.close();
          s = await openLmdbStore(dir);
          assert.deepEqual(s.listQueue('q').map((j) => j.name), expected.map((i) => `j${i}`));
          for (let i = 0; i < together; i++) assert.equal(s.getMeta(`m${i}`), expected.includes(i) ? i : undefined);
        } finally {
          await s.close();
        }
      });
    });
  }

  it('a commit is on disk once its promise resolves: a writer killed right after loses nothing', async () => {
    await withDir(async (dir) => {
      const c = child(['crash-after', dir, '500']);
      const { signal } = await c.exited;
      assert.equal(signal, 'SIGKILL', c.stderr());
      const s = await openLmdbStore(dir);
      try {
        assert.equal(s.getMeta('crashCount'), 500);
        assert.equal(s.queueLength('crash'), 500);
        assert.equal(s.listQueue('crash')[499]?.name, 'c499');
      } finally {
        await s.close();
      }
    });
  });

  it('opens read-only in the same process too, and refuses a directory that holds no store', async () => {
    await withDir(async (dir) => {
      await assert.rejects(openLmdbStore(join(dir, 'none'), { readOnly: true }), { code: 'ERR_STORE_OPEN' });
      const w = await openLmdbStore(dir);
      await w.transaction((tx) => tx.setMeta('k', 'v'));
      await w.close();
      const r = await openLmdbStore(dir, { readOnly: true });
      try {
        assert.equal(r.readOnly, true);
        assert.equal(r.getMeta('k'), 'v');
        await assert.rejects(r.transaction((tx) => tx.setMeta('k', 'w')), { code: 'ERR_STORE_READ_ONLY' });
      } finally {
        await r.close();
      }
    });
  });

  it('shares its environment: other sub-databases live beside the store, reserved names are refused', async () => {
    await withDir(async (dir) => {
      let s: LmdbStore = await openLmdbStore(dir);
      try {
        assert.throws(() => s.openSubDb('store/schedule'), { code: 'ERR_STORE_RESERVED_NAME' });
        const web = s.openSubDb<{ n: number }>('web/builds');
        await web.put('b1', { n: 1 });
        await s.transaction((tx) => tx.putSchedule(entry('a', 5)));
        await s.close();
        s = await openLmdbStore(dir);
        assert.deepEqual(s.openSubDb('web/builds').get('b1'), { n: 1 });
        assert.equal(s.getSchedule('a')?.next, 5);
        assert.equal(s.root.openDB({ name: 'web/builds' }).get('b1').n, 1);
      } finally {
        await s.close();
      }
    });
  });

  it('records its schema version and refuses a newer one', async () => {
    await withDir(async (dir) => {
      const s = await openLmdbStore(dir);
      assert.equal(s.getMeta(META_SCHEMA_VERSION), STORE_SCHEMA_VERSION);
      await s.transaction((tx) => tx.setMeta(META_SCHEMA_VERSION, STORE_SCHEMA_VERSION + 1));
      await s.close();
      await assert.rejects(openLmdbStore(dir), { code: 'ERR_STORE_SCHEMA' });
    });
  });

  it('migrates a version-1 store (every record msgpack) on open, and reads one as it is when read-only', async () => {
    await withDir(async (dir) => {
      const schedule = [
        entry('a', 1000, { origin: 'client', pendingRuns: 0 }),
        entry('b', null, { trigger: { type: 'cron', expr: '0 0 * * *', timeZone: 'UTC' }, paused: true }),
        { ...entry('o', 2000), job: orb('o') },
        { ...entry('odd', 3000), note: 'an extra field' } as ReturnType<typeof entry>,
      ];
      const queue: [string, Job][] = [['linux', script('a')], ['linux', { ...script('b'), script: 'differs' }], ['freebsd', orb('o')], ['linux', script('odd')]];
      // what version 1 wrote: lmdb-js's msgpack encoder on every sub-database
      const root = open({ path: join(dir, 'lmdb'), maxDbs: 64 });
      const db = (n: keyof typeof STORE_DBS) => root.openDB({ name: STORE_DBS[n], encoder: { useRecords: false } } as { name: string });
      await root.transaction(() => {
        for (const e of schedule) {
          db('schedule').put(e.name, e);
          if (!e.paused && e.next !== null) db('scheduleDue').put([e.next, e.name], true);
        }
        queue.forEach(([p, j], seq) => {
          db('queuePlatforms').put(p, true);
          db('queue').put([p, seq], j);
          db('queueNames').put([p, j.name], seq);
        });
        db('meta').put(META_SCHEMA_VERSION, 1);
      });
      await root.close();
      const expected = (s: Store) => {
        assert.deepEqual(s.listSchedule(), [...schedule].sort((x, y) => (x.name < y.name ? -1 : 1)));
        assert.deepEqual(s.listQueue('linux'), [script('a'), { ...script('b'), script: 'differs' }, script('odd')]);
        assert.deepEqual(s.listQueue('freebsd'), [orb('o')]);
        assert.deepEqual(s.listDueSchedule(5000).map((e) => e.name), ['a', 'o', 'odd']);
      };
      const raw = async (fn: (compact: (n: 'schedule' | 'queue') => boolean[]) => void) => {
        const r = open({ path: join(dir, 'lmdb'), maxDbs: 64, readOnly: true });
        const bin = (n: 'schedule' | 'queue') => Array.from(r.openDB({ name: STORE_DBS[n], encoding: 'binary' } as { name: string }).getRange({}), (x) => isCompact(x.value as Uint8Array));
        try {
          fn(bin);
        } finally {
          await r.close();
        }
      };

      const ro = await openLmdbStore(dir, { readOnly: true });
      try {
        expected(ro);
        assert.equal(ro.getMeta(META_SCHEMA_VERSION), 1);
      } finally {
        await ro.close();
      }
      await raw((compact) => assert.deepEqual(compact('schedule'), [false, false, false, false]));

      const s = await openLmdbStore(dir);
      try {
        assert.equal(s.getMeta(META_SCHEMA_VERSION), STORE_SCHEMA_VERSION);
        expected(s);
        // a queued job equal to its entry's job is read as that object
        const all = s.loadAll({ queuedJob: (j, _p, e) => (e && e.job === j ? ({ ...j, shared: true }) as unknown as Job : j) });
        assert.deepEqual(all.queues.get('linux')!.map((j) => 'shared' in j), [true, false, true]);
        assert.deepEqual(all.queues.get('freebsd')!.map((j) => 'shared' in j), [true]);
      } finally {
        await s.close();
      }
      // the server's shapes are compact now; the entry with an extra field stays msgpack, as given
      await raw((compact) => {
        assert.deepEqual(compact('schedule'), [true, true, true, false]);
        assert.deepEqual(compact('queue'), [true, true, true, true]);
      });
      const again = await openLmdbStore(dir);
      try {
        expected(again);
      } finally {
        await again.close();
      }
    });
  });

  it('reads back large entries and queued jobs (lmdb-js hands those over outside its shared buffer)', async () => {
    await withDir(async (dir) => {
      const big = (name: string, n: number) => ({ ...script(name), script: `echo ${'é'.repeat(n)}\n` });
      const s = await openLmdbStore(dir);
      try {
        await s.transaction((tx) => {
          for (const [i, n] of [10, 40_000, 300_000].entries()) {
            tx.putSchedule({ ...entry(`big${i}`, 1000 + i), job: big(`big${i}`, n) });
            tx.pushBack('linux', big(`big${i}`, n));
          }
          tx.pushBack('linux', big('other', 200_000));
        });
        for (const [i, n] of [10, 40_000, 300_000].entries()) assert.deepEqual(s.getSchedule(`big${i}`)?.job, big(`big${i}`, n));
        const all = s.loadAll({ queuedJob: (j, _p, e) => (e && e.job === j ? ({ ...j, shared: true }) as unknown as Job : j) });
        assert.deepEqual(all.queues.get('linux')!.map((j) => 'shared' in j), [true, true, true, false]);
        assert.deepEqual(all.queues.get('linux')![3], big('other', 200_000));
        assert.deepEqual(s.listQueue('linux').map((j) => (j as { script: string }).script.length), [10, 40_000, 300_000, 200_000].map((n) => n + 6));
      } finally {
        await s.close();
      }
    });
  });

  it('refuses a bad history limit and over-long keys', async () => {
    await withDir(async (dir) => {
      await assert.rejects(openLmdbStore(dir, { historyLimit: 0 }), { code: 'ERR_STORE_INVALID' });
      const s = await openLmdbStore(dir);
      try {
        const long = 'x'.repeat(2000);
        await assert.rejects(s.transaction((tx) => tx.pushBack(long, script('a'))), { code: 'ERR_STORE_INVALID' });
        await assert.rejects(s.transaction((tx) => tx.putSchedule(entry(long, 1))), { code: 'ERR_STORE_INVALID' });
      } finally {
        await s.close();
      }
    });
  });
});
