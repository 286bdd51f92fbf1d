// A write that failed because the disk (or LMDB's map) is full is told as such: "disk full", not the
// errno text (a full file system under LMDB's memory map can surface as EIO).
import { statfsSync } from 'node:fs';
import { CommandError } from '../errors/command-error.ts';

function noSpaceLeft(dataDir: string): boolean {
  try {
    const s = statfsSync(dataDir);
    // less than 1 MiB or 1 % left: LMDB cannot grow its file by a page batch
    return s.bavail * s.bsize < Math.max(1024 * 1024, s.blocks * s.bsize * 0.01);
  } catch {
    return false;
  }
}

/** Whether `e` is a write that failed for lack of space (`dataDir`'s file system is checked when the error is ambiguous). */
export function isDiskFull(e: unknown, dataDir: string): boolean {
  const err = e as { code?: string; message?: string };
  const text = `${err?.code ?? ''} ${err?.message ?? ''}`;
  return /ENOSPC|MDB_MAP_FULL|no space left|EDQUOT/i.test(text) || (/EIO|Input\/output error/i.test(text) && noSpaceLeft(dataDir));
}

/**
 * A CommandError saying the disk is full, when `e` is a failed write for lack of space; else undefined.
 * `what` says what was lost ("the change was not saved", "the result file was not written").
 */
export function diskFullError(e: unknown, dataDir: string, what = 'the change was not saved'): CommandError | undefined {
  if (!isDiskFull(e, dataDir)) return undefined;
  const err = e as { message?: string };
  return new CommandError('ERR_DISK_FULL', `disk full: ${what} (${err?.message ?? String(e)}); free space under the data directory and retry`, { cause: e });
}
