// POST /upload, as builder-web answers it (where builder-web answers 500 to a bad body, we say 400 and why).
// The body is never held in memory: credentials and the uploader's right to the job (named in the first
// bytes of the body, or by ?job= on the request line) are checked before the rest is read; the body is
// spooled to a file on the data disk, parsed from there, its artifacts hashed and copied from byte ranges.
import { createWriteStream } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { uuidToString } from '../protocol/uuid.ts';
import type { Exec } from '../protocol/types.ts';
import { sha256File } from '../pool/pool.ts';
import { webErrors } from '../errors/web-error.ts';
import { isDiskFull } from '../server/disk-full.ts';
import type { BlobSource } from './artifact-store.ts';
import { TEXT_FILES, type PreparedBuild } from './build-store.ts';
import type { PasswordChecker } from './password-checker.ts';
import { readSpooledExec } from './spooled-exec.ts';
import type { UserRecord } from './users.ts';

export const DEFAULT_MAX_UPLOAD_BYTES = 500 * 1024 * 1024;
export const DEFAULT_MAX_CONCURRENT_UPLOADS = 4;
/** The job name must be within this many bytes of the body's start (it is the Exec's first value). */
const JOB_NAME_WITHIN = 64 * 1024;
/** README.md and opam-switch feed the job's metadata; larger ones are stored but not read. */
const MAX_TEXT_FILE = 4 * 1024 * 1024;

export function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  const m = header?.match(/^Basic\s+([A-Za-z0-9+/=]+)\s*$/i);
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

export async function authenticate(checker: PasswordChecker, req: IncomingMessage): Promise<UserRecord> {
  const cred = basicCredentials(req.headers.authorization);
  if (!cred) throw webErrors.unauthorized('credentials required');
  return checker.check(cred.user, cred.password, req.socket.remoteAddress ?? '');
}

/** An upload's failure as the uploader is told it: 507 when a disk it is written to is full, else as it was. */
export function uploadFailure(e: unknown, dirs: (string | undefined)[]): unknown {
  return dirs.some((d) => d !== undefined && isDiskFull(e, d)) ? webErrors.diskFull(e) : e;
}

/** A bound on uploads in flight: each holds a spool file and, while stored, disk bandwidth. */
export class UploadSlots {
  private used = 0;
  constructor(readonly max: number) {}
  /** A release function, or undefined when every slot is taken. */
  take(): (() => void) | undefined {
    if (this.used >= this.max) return undefined;
    this.used++;
    let released = false;
    return () => {
      if (!released) this.used--;
      released = true;
    };
  }
}

/**
 * The job name at the start of an Exec's DER ([0] { SEQUENCE { ScriptJob SEQUENCE { name UTF8String ...),
 * undefined while more bytes are needed. Lenient on purpose: the strict parse of the whole body follows.
 */
export function jobNameOfPrefix(b: Uint8Array): string | undefined {
  let p = 0;
  const header = (id: number, what: string): number | undefined => {
    if (p + 2 > b.length) return undefined;
    if (b[p] !== id) throw webErrors.badUpload(`${what}: expected identifier 0x${id.toString(16)}, got 0x${b[p]!.toString(16)}`);
    let len = b[p + 1]!;
    p += 2;
    if (len === 0x80) throw webErrors.badUpload(`${what}: indefinite length (not DER)`);
    if (len > 0x80) {
      const n = len & 0x7f;
      if (n > 6) throw webErrors.badUpload(`${what}: length of ${n} bytes`);
      if (p + n > b.length) return undefined;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + b[p + i]!;
      p += n;
    }
    return len;
  };
  if (b.length > 0 && b[0] === 0xa1) throw webErrors.badUpload('Exec: alternative [1] is never valid, refused');
  if (header(0xa0, 'Exec') === undefined || header(0x30, 'Exec') === undefined || header(0x30, 'Exec.job') === undefined) return undefined;
  const len = header(0x0c, 'Exec.job.name');
  if (len === undefined || p + len > b.length) return undefined;
  return Buffer.from(b.subarray(p, p + len)).toString('utf8');
}

/**
 * Streams the body to a new file under tmpDir. `onJob` sees the job name as soon as the first bytes
 * name it and may throw to refuse the upload (nothing more is read). 413 as soon as the body passes the limit.
 */
export async function spoolUpload(req: IncomingMessage, tmpDir: string, limit: number, onJob?: (name: string) => void): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw webErrors.tooLarge(limit);
  await mkdir(tmpDir, { recursive: true });
  const file = join(tmpDir, `upload-${randomBytes(8).toString('hex')}`);
  try {
    await new Promise<void>((resolve, reject) => {
      const out = createWriteStream(file);
      let seen = 0;
      // without onJob the body is not an Exec: nothing to look for
      let prefix: Buffer | undefined = onJob ? Buffer.alloc(0) : undefined;
      let failed = false;
      const fail = (e: Error) => {
        if (failed) return;
        failed = true;
        req.off('data', onData);
        req.pause();
        // the file may not be open yet: removing it before the stream has closed would race its creation
        if (out.closed) return reject(e);
        out.once('close', () => reject(e));
        out.destroy();
      };
      const onData = (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > limit) return fail(webErrors.tooLarge(limit));
        if (prefix) {
          prefix = Buffer.concat([prefix, chunk.subarray(0, JOB_NAME_WITHIN - prefix.length)]);
          try {
            const name = jobNameOfPrefix(prefix);
            if (name !== undefined) {
              prefix = undefined;
              onJob!(name);
            } else if (prefix.length >= JOB_NAME_WITHIN) throw webErrors.badUpload(`no job name in the first ${JOB_NAME_WITHIN} bytes`);
          } catch (e) {
            return fail(e as Error);
          }
        }
        if (!out.write(chunk)) {
          req.pause();
          out.once('drain', () => failed || req.resume());
        }
      };
      req.on('data', onData);
      req.on('end', () => {
        if (failed) return;
        if (prefix) return fail(webErrors.badUpload(seen === 0 ? 'empty body' : 'truncated before the job name'));
        out.end();
      });
      req.on('error', fail);
      req.on('aborted', () => fail(webErrors.badUpload('the client aborted the upload')));
      out.on('error', fail);
      out.on('finish', () => (failed ? undefined : resolve()));
    });
    return file;
  } catch (e) {
    await rm(file, { force: true });
    throw e;
  }
}

async function readText(file: string, start: number, length: number): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    let at = 0;
    while (at < length) {
      const { bytesRead } = await fh.read(buf, at, length - at, start + at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return buf.subarray(0, at).toString('utf8');
  } finally {
    await fh.close();
  }
}

/**
 * Parses and hashes a spooled upload; the console blob is written beside the spool as `<spool>.console`
 * (the caller removes both). The result's blobs point into these files.
 */
export async function prepareUpload(spool: string): Promise<PreparedBuild> {
  const consoleFile = `${spool}.console`;
  const x = await readSpooledExec(spool, consoleFile);
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  const hashes = await Promise.all(x.files.map(async (f) => hex(await sha256File(spool, { start: f.start, end: f.start + f.length }))));
  const blobs = new Map<string, BlobSource>();
  x.files.forEach((f, i) => blobs.set(hashes[i]!, { file: spool, start: f.start, length: f.length }));
  if (!blobs.has(x.console.sha256)) blobs.set(x.console.sha256, { move: consoleFile });
  const texts: PreparedBuild['texts'] = {};
  for (const f of x.files) {
    if ((TEXT_FILES as readonly string[]).includes(f.path) && f.length <= MAX_TEXT_FILE) {
      texts[f.path as (typeof TEXT_FILES)[number]] = await readText(spool, f.start, f.length);
    }
  }
  return {
    uuid: x.uuid,
    job: x.job,
    started: x.started,
    finished: x.finished,
    result: x.result,
    files: x.files.map((f, i) => ({ path: f.path, sha256: hashes[i]!, size: f.length })),
    console: { sha256: x.console.sha256, size: x.console.size, lines: x.console.lines },
    blobs,
    texts,
  };
}

/** A build whose one file is the whole spool (the manual binary upload); the spool is moved into the store. */
export async function prepareSingleFile(spool: string, shell: Exec, path: string): Promise<PreparedBuild> {
  const size = (await stat(spool)).size;
  const sha256 = Buffer.from(await sha256File(spool)).toString('hex');
  const emptyConsole = createHash('sha256').digest('hex');
  const blobs = new Map<string, BlobSource>([[emptyConsole, new Uint8Array(0)]]);
  if (!blobs.has(sha256)) blobs.set(sha256, { move: spool });
  return {
    uuid: uuidToString(shell.uuid),
    job: shell.job.type === 'script' ? shell.job : { type: 'script', name: shell.job.name, script: '' },
    started: shell.started,
    finished: shell.finished,
    result: shell.result,
    files: [{ path, sha256, size }],
    console: { sha256: emptyConsole, size: 0, lines: 0 },
    blobs,
    texts: {},
  };
}
