// Writes `<dir>/<job>/<uuid>/full` as the original does, atomically and durably: a crash leaves the old
// state or the whole file, never half of it.
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

export function resultPath(dir: string, jobName: string, uuid: string): string {
  return path.join(dir, jobName, uuid, 'full');
}

export async function writeDurably(file: string, data: Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  await rename(tmp, file);
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}
