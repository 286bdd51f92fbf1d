// builder-web's `POST /job/:job/platform/:platform/upload?binary_name=NAME`: a manually built
// binary becomes a successful build of the job (bin/NAME, default `<job>.bin`), with the script
// "# This artifact was manually built".
import type { IncomingMessage } from 'node:http';
import { randomUuid } from '../protocol/uuid.ts';
import type { Exec } from '../protocol/types.ts';
import { webErrors } from '../errors/web-error.ts';

export const MANUAL_SCRIPT = '# This artifact was manually built\n';

/** The file name of the binary, or an error for anything but one plain path component. */
export function binaryName(job: string, param: string | null): string {
  const name = param ?? `${job}.bin`;
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) throw webErrors.badRequest('Bad binary name provided.');
  return name;
}

export async function readLimited(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw webErrors.tooLarge(limit);
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

export function manualBuild(job: string, platform: string, name: string, data: Uint8Array, now: Date): Exec {
  return {
    job: { type: 'script', name: job, script: MANUAL_SCRIPT, platform },
    uuid: randomUuid(),
    console: [],
    started: now,
    finished: now,
    result: { type: 'exited', code: 0 },
    files: [{ path: `bin/${name}`, data }],
  };
}
