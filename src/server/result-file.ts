// Writes `<dir>/<job>/<uuid>/full` as the original does, atomically and durably: a crash leaves the old
// state or the whole file, never half of it.
//
// The two flushes (the file's, then its directory's) and the write of a large file run on the thread pool;
// the other steps (mkdir, open, a small write, close, rename) are synchronous: they only touch the page
// cache, and each asynchronous call costs a thread-pool round trip and a promise (together about 0.35 ms of
// CPU per result on a busy two-core host, measured).
import { closeSync, fsync, mkdirSync, openSync, renameSync, rmSync, write, writeSync } from 'node:fs';
import path from 'node:path';

export function resultPath(dir: string, jobName: string, uuid: string): string {
  return path.join(dir, jobName, uuid, 'full');
}

/** Larger files are written on the thread pool, not with the event loop held. */
const SYNC_WRITE_MAX = 64 * 1024;

function flush(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (e) => (e ? reject(e) : resolve())));
}

async function writeAll(fd: number, data: Uint8Array): Promise<void> {
  if (data.length <= SYNC_WRITE_MAX) {
    for (let at = 0; at < data.length; ) at += writeSync(fd, data, at, data.length - at);
    return;
  }
  for (let at = 0; at < data.length; ) {
    at += await new Promise<number>((resolve, reject) => write(fd, data, at, data.length - at, null, (e, n) => (e ? reject(e) : resolve(n))));
  }
}

export async function writeDurably(file: string, data: Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    await writeAll(fd, data);
    await flush(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, file);
  const dfd = openSync(dir, 'r');
  try {
    await flush(dfd);
  } finally {
    closeSync(dfd);
  }
}
