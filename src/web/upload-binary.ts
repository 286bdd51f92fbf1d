// builder-web's `POST /job/:job/platform/:platform/upload?binary_name=NAME`: a manually built
// binary becomes a successful build of the job (bin/NAME, default `<job>.bin`), with the script
// "# This artifact was manually built".
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

/** The build a manual upload makes; its one file's bytes are the spooled body (prepareSingleFile), not held here. */
export function manualBuild(job: string, platform: string, name: string, now: Date): Exec {
  return {
    job: { type: 'script', name: job, script: MANUAL_SCRIPT, platform },
    uuid: randomUuid(),
    console: [],
    started: now,
    finished: now,
    result: { type: 'exited', code: 0 },
    files: [{ path: `bin/${name}`, data: new Uint8Array(0) }],
  };
}
