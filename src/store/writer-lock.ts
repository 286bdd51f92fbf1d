// One writer per store with the write-ahead log: a second server on the same directory would replay and
// remove the first one's log while the first goes on writing to it. The lock is a Unix socket the writer
// listens on in the store's folder, bound through /proc/self/fd so that no path length limit applies: the
// kernel closes it when the process ends, however it ends. A socket file nobody answers on is stale and is
// replaced. Where no Unix socket can be made (a file system without them), the store opens unlocked.
import { closeSync, openSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { storeErrors } from '../errors/store-error.ts';

export const LOCK_FILE = 'writer.lock';

export interface WriterLock {
  release(): void;
}

export async function lockWriter(dir: string): Promise<WriterLock> {
  // open while the lock is held: the socket is bound through it, and libuv unlinks the bound name through it again
  // when the socket closes (a descriptor number closed meanwhile may name another directory by then)
  const fd = openSync(dir, 'r');
  let held = false;
  try {
    const path = `/proc/self/fd/${fd}/${LOCK_FILE}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      const server = net.createServer((c) => c.destroy());
      const bound = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
        server.once('error', resolve);
        server.listen(path, () => resolve(undefined));
      });
      if (!bound) {
        server.unref();
        held = true;
        return {
          release() {
            server.close();
            rmSync(join(dir, LOCK_FILE), { force: true });
            closeSync(fd);
          },
        };
      }
      if (bound.code !== 'EADDRINUSE') return { release() {} };
      if (await answers(path)) throw storeErrors.locked(dir);
      rmSync(join(dir, LOCK_FILE), { force: true });
    }
    throw storeErrors.locked(dir);
  } finally {
    if (!held) closeSync(fd);
  }
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}
