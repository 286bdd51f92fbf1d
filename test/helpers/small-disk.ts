// A small file system for disk-full tests: a 3 MiB tmpfs (root only), and a filler that takes its last block.
import { execFileSync } from 'node:child_process';
import { open } from 'node:fs/promises';

/** Mounts a 3 MiB tmpfs on dir; a reason to skip when it cannot (not root). */
export function mountSmall(dir: string): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (e) {
    return `cannot mount a 3 MiB tmpfs (needs root): ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`;
  }
}

/** Fills the file system holding `file` to the last block (the file is the filler). */
export async function fillUp(file: string): Promise<void> {
  const fh = await open(file, 'w');
  try {
    for (const size of [256 * 1024, 4096, 512]) {
      const chunk = Buffer.alloc(size, 1);
      for (;;) {
        try {
          await fh.write(chunk);
        } catch {
          break;
        }
      }
    }
  } finally {
    await fh.close().catch(() => {});
  }
}
