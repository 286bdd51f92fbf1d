// A second process for the LMDB store tests (not a test file itself):
//   dump <dir>           open read-only, print loadAll() as JSON, and again after each stdin line (refresh)
//   crash-after <dir> n  write n entries in one transaction, then SIGKILL itself as soon as it resolves
//   wal-crash <dir> n    with the write-ahead log: n transactions one after the other (each pushes c<i>
//                        and sets meta counter = i), then SIGKILL itself as soon as the last resolves
import { createInterface } from 'node:readline';
import { openLmdbStore } from '../src/store/lmdb-store.ts';
import type { StoreContents } from '../src/store/store.ts';

const [mode, dir, arg] = process.argv.slice(2);

function dump(c: StoreContents): string {
  return JSON.stringify({ ...c, queues: [...c.queues] });
}

if (mode === 'dump' && dir) {
  const store = await openLmdbStore(dir, { readOnly: true });
  process.stdout.write(dump(store.loadAll()) + '\n');
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (line === 'tx') {
      try {
        await store.transaction((tx) => tx.setMeta('fromReader', true));
        process.stdout.write('wrote\n');
      } catch (e) {
        process.stdout.write(`${(e as { code?: string }).code}\n`);
      }
      continue;
    }
    store.refresh();
    process.stdout.write(dump(store.loadAll()) + '\n');
  }
  await store.close();
} else if (mode === 'crash-after' && dir) {
  const store = await openLmdbStore(dir);
  const n = Number(arg ?? '1');
  await store.transaction((tx) => {
    for (let i = 0; i < n; i++) tx.pushBack('crash', { type: 'script', name: `c${i}`, script: 'true' });
    tx.setMeta('crashCount', n);
  });
  process.kill(process.pid, 'SIGKILL');
} else if (mode === 'wal-crash' && dir) {
  const store = await openLmdbStore(dir, { wal: true });
  const n = Number(arg ?? '1');
  for (let i = 0; i < n; i++) {
    await store.transaction((tx) => {
      tx.pushBack('crash', { type: 'script', name: `c${i}`, script: 'true' });
      tx.setMeta('counter', i);
    });
  }
  process.kill(process.pid, 'SIGKILL');
} else {
  process.stderr.write('usage: store-child.ts dump <dir> | crash-after <dir> <n> | wal-crash <dir> <n>\n');
  process.exit(2);
}
