// POST /upload, as builder-web answers it (where builder-web answers 500 to a bad body, we say 400 and why).
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { decodeExec } from '../protocol/exec-codec.ts';
import type { Exec } from '../protocol/types.ts';
import { WebError, webErrors } from '../errors/web-error.ts';
import type { UserStore, UserRecord } from './users.ts';

export const DEFAULT_MAX_UPLOAD_BYTES = 500 * 1024 * 1024;

export function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  const m = header?.match(/^Basic\s+([A-Za-z0-9+/=]+)\s*$/i);
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

export async function authenticate(users: UserStore, req: IncomingMessage): Promise<UserRecord> {
  const cred = basicCredentials(req.headers.authorization);
  if (!cred) throw webErrors.unauthorized('credentials required');
  const user = await users.verify(cred.user, cred.password);
  if (!user) throw webErrors.unauthorized('wrong credentials');
  return user;
}

/** Streams the body to a temp file, failing with 413 as soon as it passes the limit; returns its bytes. */
export async function readBody(req: IncomingMessage, tmpDir: string, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw webErrors.tooLarge(limit);
  await mkdir(tmpDir, { recursive: true });
  const file = join(tmpDir, `upload-${randomBytes(8).toString('hex')}`);
  try {
    await new Promise<void>((resolve, reject) => {
      const out = createWriteStream(file);
      let seen = 0;
      let failed = false;
      const fail = (e: Error) => {
        if (failed) return;
        failed = true;
        req.unpipe(out);
        out.destroy();
        reject(e);
      };
      req.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > limit) fail(webErrors.tooLarge(limit));
      });
      req.on('error', fail);
      req.on('aborted', () => fail(webErrors.badUpload('the client aborted the upload')));
      out.on('error', fail);
      out.on('finish', () => (failed ? undefined : resolve()));
      req.pipe(out);
    });
    return await readFile(file);
  } finally {
    await rm(file, { force: true });
  }
}

export function decodeUpload(body: Uint8Array): Exec {
  try {
    return decodeExec(body);
  } catch (e) {
    if (e instanceof WebError) throw e;
    throw webErrors.badUpload(e instanceof Error ? e.message : String(e), e);
  }
}
