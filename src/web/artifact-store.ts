// Content-addressed files under <dataDir>/_artifacts/<first two hex>/<hex>: each content is written once.
import { mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export const HEX64 = /^[0-9a-f]{64}$/;

export class ArtifactStore {
  readonly dir: string;
  constructor(dataDir: string) {
    this.dir = join(dataDir, '_artifacts');
  }

  path(sha256: string): string {
    if (!HEX64.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return join(this.dir, sha256.slice(0, 2), sha256);
  }

  async has(sha256: string): Promise<boolean> {
    try {
      await stat(this.path(sha256));
      return true;
    } catch {
      return false;
    }
  }

  /** Writes the content unless it is there already (a temp file renamed in place, so readers never see half a file). */
  async put(sha256: string, data: Uint8Array): Promise<void> {
    if (await this.has(sha256)) return;
    const target = this.path(sha256);
    await mkdir(join(this.dir, sha256.slice(0, 2)), { recursive: true });
    const tmp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, data);
    await rename(tmp, target);
  }

  async remove(sha256: string): Promise<void> {
    await unlink(this.path(sha256)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  }
}
