// Content-addressed files under <dataDir>/_artifacts/<first two hex>/<hex>: each content is written once.
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export const HEX64 = /^[0-9a-f]{64}$/;

/** A blob's content: bytes in memory, a byte range of a file (an upload's spool), or a whole file to move in. */
export type BlobSource = Uint8Array | { file: string; start: number; length: number } | { move: string };

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
  async put(sha256: string, data: BlobSource): Promise<void> {
    if (await this.has(sha256)) return;
    const target = this.path(sha256);
    await mkdir(join(this.dir, sha256.slice(0, 2)), { recursive: true });
    const tmp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      if (data instanceof Uint8Array) await writeFile(tmp, data);
      else if ('move' in data) {
        await rename(data.move, tmp).catch(async (e: NodeJS.ErrnoException) => {
          if (e.code !== 'EXDEV') throw e;
          await copyFile(data.move, tmp);
        });
      } else if (data.length === 0) await writeFile(tmp, new Uint8Array(0));
      else await pipeline(createReadStream(data.file, { start: data.start, end: data.start + data.length - 1 }), createWriteStream(tmp));
      await rename(tmp, target);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
  }

  async remove(sha256: string): Promise<void> {
    await unlink(this.path(sha256)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  }
}
