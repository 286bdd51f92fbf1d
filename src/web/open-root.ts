// The LMDB environment of a data directory, for the commands that run without the server
// (`builder web`, `user`, `access`, `vacuum`).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { open, type RootDatabase } from 'lmdb';

export function openRoot(dir: string): RootDatabase {
  mkdirSync(dir, { recursive: true });
  return open({ path: join(dir, 'lmdb'), maxDbs: 64 });
}
