// The environment a job starts with in the process and bwrap sandboxes: never the worker's own (which may hold
// secrets), but a small fixed set, plus the variables the operator passes by name (worker --env NAME or
// NAME=VALUE). The docker sandbox starts from the image's environment and adds only the operator's variables.
import { userInfo } from 'node:os';

export const JOB_PATH = '/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin';

/** The fixed part: PATH, HOME and TMPDIR (home is the job directory, tmp its private /tmp or the job directory), USER, LOGNAME, SHELL, LANG. */
export function baseEnvironment(home: string, tmp: string): Record<string, string> {
  const user = userName();
  return { PATH: JOB_PATH, HOME: home, TMPDIR: tmp, USER: user, LOGNAME: user, SHELL: '/bin/sh', LANG: 'C.UTF-8' };
}

let cachedUser: string | undefined;

/** The worker's user name, read once (userInfo() reads /etc/passwd on every call: on every job's start). */
function userName(): string {
  if (cachedUser === undefined) {
    try {
      cachedUser = userInfo().username;
    } catch {
      cachedUser = 'builder'; // no passwd entry for our uid
    }
  }
  return cachedUser;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The operator's variables from --env entries: NAME takes the worker's own value (skipped when unset), NAME=VALUE
 * sets it. Throws a RangeError naming a bad entry.
 */
export function passedEnvironment(entries: readonly string[], from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const name = eq < 0 ? entry : entry.slice(0, eq);
    if (!NAME.test(name)) throw new RangeError(`not a variable name: ${JSON.stringify(name)}`);
    if (eq >= 0) out[name] = entry.slice(eq + 1);
    else if (from[name] !== undefined) out[name] = from[name]!;
  }
  return out;
}
