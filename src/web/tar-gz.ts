// A small ustar writer for /all.tar.gz: regular files only, long paths through a pax header.
import { createGzip } from 'node:zlib';
import { PassThrough, type Readable } from 'node:stream';
import { uploadPathProblem } from './upload-path.ts';

function header(name: string, size: number, mtime: number, type: '0' | 'x'): Buffer {
  const h = Buffer.alloc(512);
  const put = (s: string, at: number, len: number) => h.write(s, at, len, 'utf8');
  const oct = (n: number, len: number) => n.toString(8).padStart(len - 1, '0');
  put(name, 0, 100);
  put(oct(0o644, 8), 100, 8);
  put(oct(0, 8), 108, 8);
  put(oct(0, 8), 116, 8);
  put(oct(size, 12), 124, 12);
  put(oct(Math.floor(mtime / 1000), 12), 136, 12);
  h.fill(' ', 148, 156);
  put(type, 156, 1);
  put('ustar\u000000', 257, 8);
  let sum = 0;
  for (const byte of h) sum += byte;
  put(oct(sum, 7) + '\u0000', 148, 8);
  return h;
}

function pad(size: number): Buffer {
  return Buffer.alloc((512 - (size % 512)) % 512);
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

/**
 * Streams a gzip'ed tar of the files; each file's bytes are fetched when its turn comes.
 * Entries whose path is absolute, climbs out with `..` or holds control characters are left out: uploads
 * refuse such paths, but builds stored before that rule may still carry them.
 */
export function tarGz(files: { path: string; size: number; read: () => Promise<Buffer> }[], mtime: number): Readable {
  const tar = new PassThrough();
  const out = tar.pipe(createGzip());
  (async () => {
    for (const f of files) {
      if (uploadPathProblem(f.path) !== undefined) continue;
      const name = Buffer.byteLength(f.path) > 99 ? f.path.slice(0, 99) : f.path;
      if (name !== f.path) {
        const pax = Buffer.from(paxRecord('path', f.path));
        tar.write(header('PaxHeader', pax.length, mtime, 'x'));
        tar.write(Buffer.concat([pax, pad(pax.length)]));
      }
      const data = await f.read();
      tar.write(header(name, data.length, mtime, '0'));
      tar.write(data);
      tar.write(pad(data.length));
    }
    tar.end(Buffer.alloc(1024));
  })().catch((e: unknown) => out.destroy(e as Error));
  return out;
}
