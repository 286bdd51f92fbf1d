// The behaviour every Store backend must have (src/store/store.ts), as a suite a backend's test
// file runs: runStoreConformance('lmdb', makeLmdbHarness).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { CatchUp, Job, ScriptJob } from '../src/protocol/types.ts';
import type { HistoryRun, OutboxEntry, RunningJob, ScheduleEntry, Store, Trigger } from '../src/store/store.ts';

export interface StoreHarness {
  /** the store under test, empty when made */
  store: Store;
  /** closes the store and opens the same data again (durability) */
  reopen(): Promise<Store>;
  /** closes whatever is open and removes the data */
  cleanup(): Promise<void>;
}

export type MakeStoreHarness = (opts: { historyLimit?: number }) => Promise<StoreHarness>;

export const script = (name: string, platform = 'linux'): ScriptJob => ({
  type: 'script',
  name,
  script: `echo ${name}`,
  platform,
});

export const orb = (name: string): Job => ({ type: 'orb-build', name, opamPackage: `pkg-${name}` });

const ONE: CatchUp = { type: 'one' };

export function entry(name: string, next: number | null, more: Partial<ScheduleEntry> = {}): ScheduleEntry {
  const trigger: Trigger = { type: 'period', period: 'daily' };
  return {
    name,
    job: script(name),
    trigger,
    next,
    timeoutSeconds: 3600,
    catchUp: ONE,
    paused: false,
    createdAt: 1_700_000_000_000,
    ...more,
  };
}

function running(uuid: string, jobName = 'j'): RunningJob {
  return {
    uuid,
    jobName,
    platform: 'linux',
    job: script(jobName),
    startedAt: 1_700_000_000_000,
    deadline: 1_700_003_600_000,
    workerId: 'w1',
  };
}

function run(jobName: string, uuid: string, startedAt: number): HistoryRun {
  return {
    uuid,
    jobName,
    platform: 'linux',
    startedAt,
    finishedAt: startedAt + 1000,
    result: { type: 'exited', code: 0 },
    resultPath: `/data/${jobName}/${uuid}/full`,
  };
}

function outbox(id: string, nextAttemptAt: number, more: Partial<OutboxEntry> = {}): OutboxEntry {
  return { id, uuid: `u-${id}`, jobName: 'j', path: `/data/j/${id}/full`, attempts: 0, nextAttemptAt, ...more };
}

const names = (jobs: Job[]) => jobs.map((j) => j.name);

async function rejectsWithCode(p: Promise<unknown> | (() => unknown), code: string): Promise<void> {
  await assert.rejects(
    async () => (typeof p === 'function' ? p() : p),
    (e: unknown) => (e as { code?: string }).code === code,
  );
}

export function runStoreConformance(name: string, make: MakeStoreHarness): void {
  describe(`Store conformance: ${name}`, () => {
    let h: StoreHarness;
    let s: Store;
    const fresh = async (opts: { historyLimit?: number } = {}) => {
      await h?.cleanup();
      h = await make(opts);
      s = h.store;
    };
    before(() => fresh());
    after(() => h.cleanup());

    describe('schedule', () => {
      before(() => fresh());

      it('puts, gets, replaces, lists by name, counts and deletes entries', async () => {
        await s.transaction((tx) => {
          tx.putSchedule(entry('b', 2000));
          tx.putSchedule(entry('a', 1000, { origin: '9p', pendingRuns: 2 }));
          tx.putSchedule(entry('c', null, { trigger: { type: 'period', period: 'never' } }));
        });
        assert.deepEqual(s.getSchedule('a'), entry('a', 1000, { origin: '9p', pendingRuns: 2 }));
        assert.deepEqual(s.listSchedule().map((e) => e.name), ['a', 'b', 'c']);
        assert.equal(s.countSchedule(), 3);
        await s.transaction((tx) => tx.putSchedule(entry('b', 5000, { paused: true })));
        assert.equal(s.getSchedule('b')?.next, 5000);
        assert.equal(s.getSchedule('b')?.paused, true);
        assert.equal(s.countSchedule(), 3);
        assert.equal(await s.transaction((tx) => tx.deleteSchedule('b')), true);
        assert.equal(await s.transaction((tx) => tx.deleteSchedule('b')), false);
        assert.equal(s.getSchedule('b'), undefined);
        assert.deepEqual(s.listSchedule().map((e) => e.name), ['a', 'c']);
      });

      it('keeps cron triggers, catch-up policies and orb-build jobs as given', async () => {
        const e = entry('cronjob', 42, {
          trigger: { type: 'cron', expr: '0 0/5 * * * ? *', timeZone: 'Europe/Berlin' },
          catchUp: { type: 'all', max: 7 },
        });
        const o = { ...entry('orbjob', 43), job: orb('orbjob') };
        await s.transaction((tx) => {
          tx.putSchedule(e);
          tx.putSchedule(o);
        });
        assert.deepEqual(s.getSchedule('cronjob'), e);
        assert.deepEqual(s.getSchedule('orbjob'), o);
      });

      it('refuses an entry whose name is not its job name, or is empty', async () => {
        await rejectsWithCode(
          s.transaction((tx) => tx.putSchedule({ ...entry('x', 1), job: script('y') })),
          'ERR_STORE_INVALID',
        );
        await rejectsWithCode(s.transaction((tx) => tx.putSchedule(entry('', 1))), 'ERR_STORE_INVALID');
        assert.equal(s.getSchedule('x'), undefined);
      });

      it('lists due entries earliest first, skipping paused and never, following replaces and deletes', async () => {
        await fresh();
        await s.transaction((tx) => {
          tx.putSchedule(entry('late', 3000));
          tx.putSchedule(entry('early', 1000));
          tx.putSchedule(entry('same-b', 2000));
          tx.putSchedule(entry('same-a', 2000));
          tx.putSchedule(entry('paused', 500, { paused: true }));
          tx.putSchedule(entry('never', null));
        });
        assert.deepEqual(s.listDueSchedule(2000).map((e) => e.name), ['early', 'same-a', 'same-b']);
        assert.deepEqual(s.listDueSchedule(2000, 2).map((e) => e.name), ['early', 'same-a']);
        assert.deepEqual(s.listDueSchedule(999), []);
        assert.equal(s.earliestNext(), 1000);
        await s.transaction((tx) => {
          tx.putSchedule(entry('early', 9000));
          tx.putSchedule(entry('paused', 500, { paused: false }));
          tx.deleteSchedule('same-a');
        });
        assert.deepEqual(s.listDueSchedule(3000).map((e) => e.name), ['paused', 'same-b', 'late']);
        assert.equal(s.earliestNext(), 500);
        await s.transaction((tx) => {
          for (const e of tx.listSchedule()) tx.putSchedule({ ...e, paused: true });
        });
        assert.equal(s.earliestNext(), null);
        assert.deepEqual(s.listDueSchedule(Infinity), []);
      });
    });

    describe('queues', () => {
      before(() => fresh());

      it('pushes back in order and refuses a duplicate name in one platform', async () => {
        const r = await s.transaction((tx) => [
          tx.pushBack('linux', script('a')),
          tx.pushBack('linux', script('b')),
          tx.pushBack('linux', script('a')),
          tx.pushBack('linux', script('c')),
        ]);
        assert.deepEqual(r, [true, true, false, true]);
        assert.deepEqual(names(s.listQueue('linux')), ['a', 'b', 'c']);
        assert.equal(s.queueLength('linux'), 3);
        assert.equal(s.isQueued('linux', 'b'), true);
        assert.equal(s.isQueued('linux', 'z'), false);
        assert.equal(s.peekQueue('linux')?.name, 'a');
      });

      it('pushes to the front, moving a queued job there (Execute)', async () => {
        const r = await s.transaction((tx) => [tx.pushFront('linux', script('c')), tx.pushFront('linux', script('d'))]);
        assert.deepEqual(r, ['moved', 'added']);
        assert.deepEqual(names(s.listQueue('linux')), ['d', 'c', 'a', 'b']);
        assert.equal(s.queueLength('linux'), 4);
      });

      it('keeps platforms apart: the same name may wait in two platforms', async () => {
        await s.transaction((tx) => {
          tx.pushBack('freebsd', script('a', 'freebsd'));
          tx.pushBack('freebsd', orb('o'));
        });
        assert.deepEqual(names(s.listQueue('freebsd')), ['a', 'o']);
        assert.deepEqual(s.listQueue('freebsd')[1], orb('o'));
        assert.deepEqual(s.listQueuePlatforms(), ['freebsd', 'linux']);
        assert.deepEqual(names(s.listQueue('linux')), ['d', 'c', 'a', 'b']);
        assert.deepEqual(s.listQueue('nowhere'), []);
        assert.equal(s.queueLength('nowhere'), 0);
        assert.equal(s.peekQueue('nowhere'), undefined);
      });

      it('pops the front and removes by name, here and everywhere', async () => {
        const popped = await s.transaction((tx) => tx.popFront('linux'));
        assert.equal(popped?.name, 'd');
        assert.equal(s.isQueued('linux', 'd'), false);
        assert.equal(await s.transaction((tx) => tx.removeFromQueue('linux', 'a')), true);
        assert.equal(await s.transaction((tx) => tx.removeFromQueue('linux', 'a')), false);
        assert.deepEqual(names(s.listQueue('linux')), ['c', 'b']);
        await s.transaction((tx) => tx.pushBack('linux', script('a')));
        assert.deepEqual(await s.transaction((tx) => tx.removeFromAllQueues('a')), ['freebsd', 'linux']);
        assert.deepEqual(names(s.listQueue('linux')), ['c', 'b']);
        assert.deepEqual(names(s.listQueue('freebsd')), ['o']);
        assert.equal(await s.transaction((tx) => tx.popFront('nowhere')), undefined);
      });

      it('an emptied queue still exists; clear keeps it, delete removes it', async () => {
        await s.transaction((tx) => tx.ensureQueue('arm64'));
        assert.equal(s.hasQueue('arm64'), true);
        assert.deepEqual(s.listQueue('arm64'), []);
        await s.transaction((tx) => {
          tx.popFront('freebsd');
        });
        assert.equal(s.hasQueue('freebsd'), true);
        assert.equal(await s.transaction((tx) => tx.clearQueue('linux')), 2);
        assert.equal(s.hasQueue('linux'), true);
        assert.equal(s.queueLength('linux'), 0);
        assert.equal(await s.transaction((tx) => tx.pushBack('linux', script('c'))), true);
        assert.equal(await s.transaction((tx) => tx.deleteQueue('linux')), true);
        assert.equal(await s.transaction((tx) => tx.deleteQueue('linux')), false);
        assert.equal(s.hasQueue('linux'), false);
        assert.equal(s.isQueued('linux', 'c'), false);
        assert.deepEqual(s.listQueuePlatforms(), ['arm64', 'freebsd']);
        assert.deepEqual([...s.loadAll().queues.keys()], ['arm64', 'freebsd']);
      });

      it('matches an array model under a seeded mix of every queue operation', async () => {
        await fresh();
        const model = new Map<string, string[]>();
        let seed = 12345;
        const rnd = (n: number) => {
          seed = (seed * 1103515245 + 12345) % 2 ** 31;
          return seed % n;
        };
        for (let round = 0; round < 20; round++) {
          await s.transaction((tx) => {
            for (let i = 0; i < 25; i++) {
              const p = ['x', 'y'][rnd(2)]!;
              const n = `j${rnd(12)}`;
              const q = model.get(p) ?? [];
              model.set(p, q);
              switch (rnd(5)) {
                case 0:
                case 1: {
                  const added = tx.pushBack(p, script(n, p));
                  assert.equal(added, !q.includes(n));
                  if (added) q.push(n);
                  break;
                }
                case 2: {
                  const had = q.includes(n);
                  assert.equal(tx.pushFront(p, script(n, p)), had ? 'moved' : 'added');
                  if (had) q.splice(q.indexOf(n), 1);
                  q.unshift(n);
                  break;
                }
                case 3:
                  assert.equal(tx.popFront(p)?.name, q.shift());
                  break;
                case 4: {
                  const had = q.includes(n);
                  assert.equal(tx.removeFromQueue(p, n), had);
                  if (had) q.splice(q.indexOf(n), 1);
                  break;
                }
              }
            }
          });
          for (const [p, q] of model) assert.deepEqual(names(s.listQueue(p)), q, `round ${round} platform ${p}`);
        }
      });
    });

    describe('dropped platforms, running jobs, actor snapshots, meta', () => {
      before(() => fresh());

      it('adds, lists and removes dropped platforms', async () => {
        assert.deepEqual(
          await s.transaction((tx) => [tx.addDropped('s390x'), tx.addDropped('arm'), tx.addDropped('arm')]),
          [true, true, false],
        );
        assert.deepEqual(s.listDropped(), ['arm', 's390x']);
        assert.equal(s.isDropped('arm'), true);
        assert.deepEqual(await s.transaction((tx) => [tx.removeDropped('arm'), tx.removeDropped('arm')]), [true, false]);
        assert.deepEqual(s.listDropped(), ['s390x']);
        assert.equal(s.isDropped('arm'), false);
      });

      it('keeps running jobs by uuid', async () => {
        const a = running('00000000-0000-4000-8000-000000000001', 'a');
        const b = { ...running('00000000-0000-4000-8000-000000000002', 'b'), queued: orb('b') };
        await s.transaction((tx) => {
          tx.putRunning(b);
          tx.putRunning(a);
        });
        assert.deepEqual(s.getRunning(b.uuid), b);
        assert.deepEqual(s.listRunning().map((r) => r.jobName), ['a', 'b']);
        assert.deepEqual(await s.transaction((tx) => [tx.deleteRunning(a.uuid), tx.deleteRunning(a.uuid)]), [true, false]);
        assert.equal(s.getRunning(a.uuid), undefined);
        assert.deepEqual(s.listRunning(), [b]);
      });

      it('keeps actor snapshots per kind and id', async () => {
        const snap = { status: 'active', value: { running: 'uploading' }, context: { n: 1, list: [1, 2], none: null } };
        await s.transaction((tx) => {
          tx.putActorSnapshot('job', 'u2', snap);
          tx.putActorSnapshot('job', 'u1', { value: 'queued' });
          tx.putActorSnapshot('worker', 'u1', { value: 'idle' });
        });
        assert.deepEqual(s.getActorSnapshot('job', 'u2'), snap);
        assert.deepEqual(s.getActorSnapshot('worker', 'u1'), { value: 'idle' });
        assert.equal(s.getActorSnapshot('worker', 'u2'), undefined);
        assert.deepEqual(
          s.listActorSnapshots('job').map((r) => [r.kind, r.id]),
          [
            ['job', 'u1'],
            ['job', 'u2'],
          ],
        );
        assert.deepEqual(s.listActorSnapshots('worker'), [{ kind: 'worker', id: 'u1', snapshot: { value: 'idle' } }]);
        await s.transaction((tx) => tx.putActorSnapshot('job', 'u1', { value: 'running' }));
        assert.deepEqual(s.getActorSnapshot('job', 'u1'), { value: 'running' });
        assert.deepEqual(
          await s.transaction((tx) => [tx.deleteActorSnapshot('job', 'u1'), tx.deleteActorSnapshot('job', 'u1')]),
          [true, false],
        );
        assert.equal(s.listActorSnapshots('job').length, 1);
        await rejectsWithCode(
          s.transaction((tx) => tx.putActorSnapshot('bogus' as 'job', 'x', {})),
          'ERR_STORE_INVALID',
        );
      });

      it('keeps meta values', async () => {
        await s.transaction((tx) => {
          tx.setMeta('lastTick', 1234);
          tx.setMeta('obj', { a: [1, 'two'] });
        });
        assert.equal(s.getMeta<number>('lastTick'), 1234);
        assert.deepEqual(s.getMeta('obj'), { a: [1, 'two'] });
        assert.equal(s.getMeta('missing'), undefined);
        const all = s.listMeta();
        assert.equal(all.lastTick, 1234);
        assert.deepEqual(all.obj, { a: [1, 'two'] });
        assert.deepEqual(await s.transaction((tx) => [tx.deleteMeta('obj'), tx.deleteMeta('obj')]), [true, false]);
        assert.equal(s.getMeta('obj'), undefined);
        await rejectsWithCode(s.transaction((tx) => tx.setMeta('x', undefined)), 'ERR_STORE_INVALID');
      });
    });

    describe('history', () => {
      before(() => fresh({ historyLimit: 3 }));

      it('lists a job’s runs newest first and trims to the limit', async () => {
        assert.equal(s.historyLimit, 3);
        await s.transaction((tx) => {
          tx.addHistory(run('a', 'u1', 1000));
          tx.addHistory(run('a', 'u3', 3000));
          tx.addHistory(run('a', 'u2', 2000));
          tx.addHistory(run('b', 'v1', 1500));
        });
        assert.deepEqual(s.listHistory('a').map((r) => r.uuid), ['u3', 'u2', 'u1']);
        assert.deepEqual(s.listHistory('a', 2).map((r) => r.uuid), ['u3', 'u2']);
        await s.transaction((tx) => {
          tx.addHistory(run('a', 'u4', 4000));
          tx.addHistory(run('a', 'u5', 5000));
        });
        assert.deepEqual(s.listHistory('a').map((r) => r.uuid), ['u5', 'u4', 'u3']);
        assert.equal(s.getHistoryByUuid('u1'), undefined);
        assert.equal(s.getHistoryByUuid('u2'), undefined);
        assert.deepEqual(s.getHistoryByUuid('u4'), run('a', 'u4', 4000));
        assert.deepEqual(s.listHistory('b').map((r) => r.uuid), ['v1']);
        assert.deepEqual(s.listHistory('nobody'), []);
        assert.deepEqual(s.listHistory('a', 0), []);
      });

      it('replaces a run recorded again under the same uuid', async () => {
        const again = { ...run('a', 'u4', 4500), result: { type: 'msg' as const, message: 'timeout' }, resultText: 'x' };
        await s.transaction((tx) => tx.addHistory(again));
        assert.deepEqual(s.listHistory('a').map((r) => r.uuid), ['u5', 'u4', 'u3']);
        assert.deepEqual(s.getHistoryByUuid('u4'), again);
      });

      it('forgets a job’s history', async () => {
        assert.equal(await s.transaction((tx) => tx.deleteHistory('a')), 3);
        assert.deepEqual(s.listHistory('a'), []);
        assert.equal(s.getHistoryByUuid('u5'), undefined);
        assert.deepEqual(s.listHistory('b').map((r) => r.uuid), ['v1']);
      });
    });

    describe('upload outbox', () => {
      before(() => fresh());

      it('adds, lists due entries in order, updates and removes', async () => {
        const bytes = new Uint8Array([0, 1, 2, 255, 0x80]);
        await s.transaction((tx) => {
          tx.putOutbox(outbox('o2', 2000));
          tx.putOutbox(outbox('o1', 1000, { url: 'http://u:p@127.0.0.1:1/upload' }));
          tx.putOutbox(outbox('o3', 3000, { path: undefined, bytes }));
        });
        assert.deepEqual(s.listOutbox().map((e) => e.id), ['o1', 'o2', 'o3']);
        assert.deepEqual(s.listDueOutbox(2000).map((e) => e.id), ['o1', 'o2']);
        const o3 = s.getOutbox('o3');
        assert.ok(o3?.bytes instanceof Uint8Array);
        assert.deepEqual(o3.bytes, bytes);
        assert.equal(s.getOutbox('o1')?.url, 'http://u:p@127.0.0.1:1/upload');
        await s.transaction((tx) => {
          const e = tx.getOutbox('o1')!;
          tx.putOutbox({ ...e, attempts: e.attempts + 1, nextAttemptAt: 5000, lastError: 'ECONNREFUSED' });
        });
        assert.deepEqual(s.listDueOutbox(4000).map((e) => e.id), ['o2', 'o3']);
        assert.equal(s.getOutbox('o1')?.attempts, 1);
        assert.equal(s.getOutbox('o1')?.lastError, 'ECONNREFUSED');
        assert.deepEqual(await s.transaction((tx) => [tx.deleteOutbox('o2'), tx.deleteOutbox('o2')]), [true, false]);
        assert.deepEqual(s.listOutbox().map((e) => e.id), ['o3', 'o1']);
      });

      it('needs exactly one of path and bytes', async () => {
        await rejectsWithCode(
          s.transaction((tx) => tx.putOutbox(outbox('bad', 1, { path: undefined }))),
          'ERR_STORE_INVALID',
        );
        await rejectsWithCode(
          s.transaction((tx) => tx.putOutbox(outbox('bad', 1, { bytes: new Uint8Array(1) }))),
          'ERR_STORE_INVALID',
        );
        assert.equal(s.getOutbox('bad'), undefined);
      });
    });

    describe('transactions', () => {
      before(() => fresh());

      it('returns the function’s value and lets it read its own writes', async () => {
        const seen = await s.transaction((tx) => {
          tx.putSchedule(entry('t1', 10));
          tx.pushBack('linux', script('t1'));
          return [tx.getSchedule('t1')?.next, names(tx.listQueue('linux')), tx.listDueSchedule(10).length];
        });
        assert.deepEqual(seen, [10, ['t1'], 1]);
      });

      it('a throwing transaction changes nothing, of any kind', async () => {
        const before = JSON.stringify({ ...s.loadAll(), queues: [...s.loadAll().queues] });
        const boom = new Error('boom');
        await assert.rejects(
          s.transaction((tx) => {
            tx.putSchedule(entry('t2', 20));
            tx.deleteSchedule('t1');
            tx.pushFront('linux', script('t2'));
            tx.popFront('linux');
            tx.ensureQueue('new');
            tx.addDropped('linux');
            tx.putRunning(running('r1'));
            tx.putActorSnapshot('job', 'r1', { v: 1 });
            tx.addHistory(run('t1', 'h1', 1));
            tx.putOutbox(outbox('o', 1));
            tx.setMeta('k', 1);
            throw boom;
          }),
          (e) => e === boom,
        );
        const after = JSON.stringify({ ...s.loadAll(), queues: [...s.loadAll().queues] });
        assert.equal(after, before);
        assert.deepEqual(s.listHistory('t1'), []);
        assert.deepEqual(s.listDueSchedule(Infinity).map((e) => e.name), ['t1']);
      });

      it('refuses an async function and writes nothing of it', async () => {
        await rejectsWithCode(
          s.transaction((async (tx: { setMeta(k: string, v: unknown): void }) => {
            tx.setMeta('async', true);
          }) as never),
          'ERR_STORE_ASYNC_TRANSACTION',
        );
        assert.equal(s.getMeta('async'), undefined);
      });

      it('a tx kept past its transaction cannot be used', async () => {
        let kept: { setMeta(k: string, v: unknown): void } | undefined;
        await s.transaction((tx) => {
          kept = tx;
        });
        assert.throws(() => kept!.setMeta('late', 1), (e: unknown) => (e as { code?: string }).code === 'ERR_STORE_INVALID');
        assert.equal(s.getMeta('late'), undefined);
      });

      it('refuses writes outside a transaction', () => {
        const w = s as unknown as { setMeta?: (k: string, v: unknown) => void };
        if (typeof w.setMeta !== 'function') return; // a backend without write methods on the store
        assert.throws(() => w.setMeta!('outside', 1), (e: unknown) => (e as { code?: string }).code === 'ERR_STORE_NO_TRANSACTION');
      });

      it('applies concurrent transactions in call order, each whole', async () => {
        const done = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            s.transaction((tx) => {
              tx.pushBack('conc', script(`c${i}`, 'conc'));
              tx.setMeta('last', i);
              return i;
            }),
          ),
        );
        assert.deepEqual(done, Array.from({ length: 50 }, (_, i) => i));
        assert.deepEqual(names(s.listQueue('conc')), Array.from({ length: 50 }, (_, i) => `c${i}`));
        assert.equal(s.getMeta('last'), 49);
      });

      it('a lazy transaction is applied whole and in call order with the ones after it', async () => {
        const lazy = s.transaction(
          (tx) => {
            tx.setMeta('lazy', 1);
            tx.pushBack('lazyq', script('l1', 'lazyq'));
          },
          { lazy: true },
        );
        const next = s.transaction((tx) => [tx.getMeta('lazy'), names(tx.listQueue('lazyq'))]);
        await lazy;
        assert.deepEqual(await next, [1, ['l1']]);
        assert.equal(s.getMeta('lazy'), 1);
      });

      it('one failing transaction among concurrent ones leaves the others', async () => {
        const results = await Promise.allSettled([
          s.transaction((tx) => tx.setMeta('p1', 1)),
          s.transaction((tx) => {
            tx.setMeta('p2', 2);
            throw new Error('no');
          }),
          s.transaction((tx) => tx.setMeta('p3', 3)),
        ]);
        assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
        assert.deepEqual([s.getMeta('p1'), s.getMeta('p2'), s.getMeta('p3')], [1, undefined, 3]);
      });
    });

    describe('durability and size', () => {
      before(() => fresh({ historyLimit: 5 }));

      it('everything written is there after close and reopen', async () => {
        await s.transaction((tx) => {
          tx.putSchedule(entry('d1', 100, { trigger: { type: 'cron', expr: '@daily', timeZone: 'UTC' } }));
          tx.pushBack('linux', script('d1'));
          tx.pushFront('linux', script('d0'));
          tx.ensureQueue('empty');
          tx.addDropped('gone');
          tx.putRunning(running('r9', 'd1'));
          tx.putActorSnapshot('worker', 'w9', { value: 'busy' });
          tx.addHistory(run('d1', 'h9', 9));
          tx.putOutbox(outbox('ob9', 9, { path: undefined, bytes: new Uint8Array([9, 9]) }));
          tx.setMeta('lastTick', 99);
        });
        const before = s.loadAll();
        s = await h.reopen();
        const after = s.loadAll();
        assert.deepEqual(after, before);
        assert.deepEqual(names(s.listQueue('linux')), ['d0', 'd1']);
        assert.deepEqual(s.listHistory('d1').map((r) => r.uuid), ['h9']);
        assert.equal(s.historyLimit, 5);
        assert.equal(s.earliestNext(), 100);
        // and it goes on working: the queue ends are found again
        await s.transaction((tx) => {
          tx.pushFront('linux', script('front'));
          tx.pushBack('linux', script('back'));
        });
        assert.deepEqual(names(s.listQueue('linux')), ['front', 'd0', 'd1', 'back']);
      });

      it('holds 10k schedule entries and 10k queued jobs, in order', async () => {
        const N = 10_000;
        await s.transaction((tx) => {
          for (let i = 0; i < N; i++) {
            const n = `job-${String(i).padStart(5, '0')}`;
            tx.putSchedule(entry(n, 1_000_000 + (N - i)));
            tx.pushBack('big', script(n, 'big'));
          }
        });
        assert.equal(s.countSchedule(), N + 1);
        assert.equal(s.queueLength('big'), N);
        const all = s.loadAll();
        assert.equal(all.schedule.length, N + 1);
        assert.equal(all.queues.get('big')?.length, N);
        assert.equal(all.queues.get('big')?.[N - 1]?.name, 'job-09999');
        const due = s.listDueSchedule(1_000_000 + 3);
        assert.deepEqual(due.map((e) => e.name), ['d1', 'job-09999', 'job-09998', 'job-09997']);
        await s.transaction((tx) => {
          for (let i = 0; i < N; i += 2) tx.popFront('big');
        });
        assert.equal(s.queueLength('big'), N / 2);
        assert.equal(s.peekQueue('big')?.name, `job-${String(N / 2).padStart(5, '0')}`);
      });
    });

    describe('a closed store', () => {
      it('refuses transactions and reads', async () => {
        await fresh();
        await s.transaction((tx) => tx.setMeta('x', 1));
        await s.close();
        await s.close();
        await rejectsWithCode(s.transaction((tx) => tx.setMeta('x', 2)), 'ERR_STORE_CLOSED');
        assert.throws(() => s.getMeta('x'), (e: unknown) => (e as { code?: string }).code === 'ERR_STORE_CLOSED');
      });
    });
  });
}
