// The store of a data directory, for the commands that run without the server (`builder web`, `user`,
// `access`, `vacuum`): the same LMDB environment the server uses, possibly beside it in another process.
import type { RootDatabase } from 'lmdb';
import { openLmdbStore } from '../store/lmdb-store.ts';

export async function openRoot(dir: string): Promise<{ root: RootDatabase; close(): Promise<void> }> {
  const store = await openLmdbStore(dir);
  return { root: store.root, close: () => store.close() };
}
