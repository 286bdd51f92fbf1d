// The artifacts of a job: every regular file under its directory except the script, by relative path ('/'
// separated), symlinks neither followed nor sent, top-level files first then each directory's, names sorted (the
// original sends the directory's files in its own traversal order; a stable order makes results comparable).
// Each file is hashed (SHA-256) in the Piscina pool as soon as it is read, while the next one is being read.
import { lstatSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256 } from '../pool/pool.ts';

export interface Artifact {
  path: string;
  data: Uint8Array;
  sha256: Uint8Array;
}

export type CollectResult =
  | { type: 'ok'; files: Artifact[]; totalBytes: number }
  | { type: 'too-large'; totalBytes: number; maxBytes: number };

export interface CollectOptions {
  /** The file name at the top of the directory that is not an artifact (script.sh). */
  exclude: string;
  /** The sum of artifact sizes allowed; above it nothing is read and the result says so. */
  maxBytes?: number;
}

/**
 * Relative paths and sizes of the regular files, breadth first, sorted by name within a directory. Synchronous
 * calls: metadata only, while the worker waits for nothing else, and a thread-pool round trip per call was a
 * visible part of a short job's cycle on a busy host (the contents are read asynchronously).
 */
export async function listArtifacts(dir: string, exclude: string): Promise<{ path: string; size: number }[]> {
  const found: { path: string; size: number }[] = [];
  let level: string[] = [''];
  while (level.length > 0) {
    const next: string[] = [];
    for (const rel of level) {
      const entries = readdirSync(join(dir, rel), { withFileTypes: true });
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const entry of entries) {
        const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
        // Dirent types come from lstat: a symlink is neither a file nor a directory here.
        if (entry.isDirectory()) next.push(path);
        else if (entry.isFile() && path !== exclude) found.push({ path, size: lstatSync(join(dir, path)).size });
      }
    }
    level = next;
  }
  return found;
}

export async function collectArtifacts(dir: string, options: CollectOptions): Promise<CollectResult> {
  const listed = await listArtifacts(dir, options.exclude);
  const totalBytes = listed.reduce((n, f) => n + f.size, 0);
  if (options.maxBytes !== undefined && totalBytes > options.maxBytes) return { type: 'too-large', totalBytes, maxBytes: options.maxBytes };
  const pending: Promise<Artifact>[] = [];
  let readBytes = 0;
  for (const { path } of listed) {
    const data = new Uint8Array(await readFile(join(dir, path)));
    readBytes += data.length;
    // A file that grew after listing still counts against the bound.
    if (options.maxBytes !== undefined && readBytes > options.maxBytes) {
      await Promise.allSettled(pending);
      return { type: 'too-large', totalBytes: readBytes, maxBytes: options.maxBytes };
    }
    pending.push(sha256(data).then((digest) => ({ path, data, sha256: digest })));
  }
  const files = await Promise.all(pending);
  return { type: 'ok', files, totalBytes: readBytes };
}
