// The store's write-ahead log (src/store/wal-log.ts): what a real directory and a killed process
// show. A commit whose promise resolved survives a SIGKILL before or after any checkpoint, over
// several rotations of the log's two segments; a torn last record is left out and the ones before it
// are kept; a read-only reader sees the log's changes before LMDB has them; checkpoints move the
// changes into LMDB while the store is open, and a clean close leaves no log behind.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { open } from 'lmdb';
import { openLmdbStore, type LmdbStore } from '../src/store/lmdb-store.ts';
import { STORE_DBS } from '../src/store/lmdb-keys.ts';
import { CHECKPOINT_MS } from '../src/store/wal-committer.ts';
import { WAL_FILES } from '../src/store/wal-log.ts';
import { lockWriter, LOCK_FILE } from '../src/store/writer-lock.ts';
import { child, withDir } from './helpers/store-process.ts';
import { script } from './store-conformance-suite.ts';

const names = (jobs: { name: string }[]) => jobs.map((j) => j.name);
const upTo = (n: number) => Array.from({ length: n }, (_, i) => `c${i}`);

/** Where each record of a segment file starts and ends (the format in wal-log.ts: length, CRC, generation, payload). */
function records(file: Buffer): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let at = 0;
  while (at + 16 <= file.length) {
    const len = file.readUInt32LE(at);
    if (len === 0) break;
    out.push({ start: at, end: at + 16 + len });
    at += 16 + len;
  }
  return out;
}

/** The store holds the first `n` commits of a wal-crash child (store-child.ts), and no later one; closed after. */
async function holdsCommits(opened: Promise<LmdbStore>, n: number): Promise<void> {
  const s = await opened;
  try {
    assert.deepEqual(names(s.listQueue('crash')), upTo(n));
    assert.equal(s.getMeta('counter'), n - 1);
  } finally {
    await s.close();
  }
}

async function killedAfter(dir: string, n: number): Promise<void> {
  const c = child(['wal-crash', dir, String(n)]);
  const { signal } = await c.exited;
  assert.equal(signal, 'SIGKILL', c.stderr());
}

describe('write-ahead log', () => {
  it('a writer killed right after its commits resolved, before any checkpoint: a reader sees them, and they are in LMDB after the next open', async () => {
    await withDir(async (dir) => {
      await killedAfter(dir, 5);
      assert.ok(WAL_FILES.some((f) => existsSync(join(dir, 'lmdb', f))), 'the log is left behind');
      await holdsCommits(openLmdbStore(dir, { readOnly: true }), 5);
      await holdsCommits(openLmdbStore(dir, { wal: true }), 5);
      assert.ok(!WAL_FILES.some((f) => existsSync(join(dir, 'lmdb', f))), 'a clean close removes the log');
      // what the log held is in LMDB itself now
      const root = open({ path: join(dir, 'lmdb'), maxDbs: 64, readOnly: true });
      try {
        assert.equal(root.openDB({ name: STORE_DBS.meta, encoder: { useRecords: false } } as never).get('counter'), 4);
      } finally {
        await root.close();
      }
    });
  });

  it('a writer killed after many commits across several checkpoints and rotations loses none', async () => {
    await withDir(async (dir) => {
      // about 1,500 commits take several checkpoint periods here
      await killedAfter(dir, 1500);
      const s = await openLmdbStore(dir, { wal: true });
      try {
        assert.deepEqual(names(s.listQueue('crash')), upTo(1500));
        assert.equal(s.getMeta('counter'), 1499);
        // and it goes on: the queue's back is found again
        await s.transaction((tx) => tx.pushBack('crash', script('after', 'crash')));
        assert.equal(s.listQueue('crash').at(-1)?.name, 'after');
      } finally {
        await s.close();
      }
    });
  });

  it('a torn last record is left out; every record before it is replayed', async () => {
    await withDir(async (dir) => {
      await killedAfter(dir, 5);
      const path = WAL_FILES.map((f) => join(dir, 'lmdb', f)).find((p) => existsSync(p) && records(readFileSync(p)).length >= 5);
      assert.ok(path, 'one segment holds the five records (and the schema version before them)');
      const file = readFileSync(path);
      const last = records(file).at(-1)!;
      // the power went while the last record was being written: its second half never arrived
      file.fill(0, last.start + Math.floor((last.end - last.start) / 2), last.end);
      writeFileSync(path, file);
      await holdsCommits(openLmdbStore(dir, { wal: true }), 4);
    });
  });

  it('checkpoints write the changes into LMDB while the store stays open', async () => {
    await withDir(async (dir) => {
      const s = await openLmdbStore(dir, { wal: true });
      const root = open({ path: join(dir, 'lmdb'), maxDbs: 64, readOnly: true });
      try {
        const meta = root.openDB({ name: STORE_DBS.meta, encoder: { useRecords: false } } as never);
        await s.transaction((tx) => tx.setMeta('seen', 1));
        assert.equal(s.getMeta('seen'), 1);
        let inLmdb: unknown;
        for (let waited = 0; waited < 50 * CHECKPOINT_MS && inLmdb === undefined; waited += 20) {
          await sleep(20);
          root.resetReadTxn();
          inLmdb = meta.get('seen');
        }
        assert.equal(inLmdb, 1);
        // a change made while LMDB holds the older value: the store reads the newer one
        await s.transaction((tx) => tx.setMeta('seen', 2));
        assert.equal(s.getMeta('seen'), 2);
      } finally {
        await root.close();
        await s.close();
      }
    });
  });
});

describe('one writer per store', () => {
  it('a second store with the log on the same directory is refused while the first is open, and opens once it is closed', async () => {
    await withDir(async (dir) => {
      const first = await openLmdbStore(dir, { wal: true });
      await first.transaction((tx) => tx.setMeta('by', 'first'));
      await assert.rejects(openLmdbStore(dir, { wal: true }), { code: 'ERR_STORE_LOCKED' });
      // readers are not writers: they open beside it
      const reader = await openLmdbStore(dir, { readOnly: true });
      assert.equal(reader.getMeta('by'), 'first');
      await reader.close();
      await first.close();
      const second = await openLmdbStore(dir, { wal: true });
      try {
        assert.equal(second.getMeta('by'), 'first');
      } finally {
        await second.close();
      }
    });
  });

  it('releasing the lock removes its own socket file and nothing in a directory opened since', async () => {
    await withDir(async (dir) => {
      const other = join(dir, 'other');
      mkdirSync(other);
      writeFileSync(join(other, LOCK_FILE), 'not the lock');
      const lock = await lockWriter(dir);
      assert.ok(existsSync(join(dir, LOCK_FILE)));
      // the lowest free descriptor number: the one the lock's directory had, were it closed already
      const fd = openSync(other, 'r');
      try {
        lock.release();
      } finally {
        closeSync(fd);
      }
      assert.equal(existsSync(join(dir, LOCK_FILE)), false);
      assert.equal(readFileSync(join(other, LOCK_FILE), 'utf8'), 'not the lock');
    });
  });
});
