// How a job's script is started in every sandbox: `/bin/sh -e`, stdout and stderr merged, in the job directory.
// The script is sourced by a shell whose EXIT trap writes the exit status to the original stderr (fd 9): a runner
// such as bwrap or a container's init reports a script killed by signal N as exit code 128+N, and this marker is
// how such a kill is told apart from a script that merely exited with that code.

const MARKER = 'builder-sandbox-exit ';
const SCRIPT_NAME = /^[A-Za-z0-9._-]+$/;

export function jobShellArgv(script: string): string[] {
  if (!SCRIPT_NAME.test(script) || script === '.' || script === '..') throw new RangeError(`script name must be a plain file name, got ${JSON.stringify(script)}`);
  return ['/bin/sh', '-ec', `exec 9>&2 2>&1; trap 'echo "${MARKER}$?" >&9' EXIT; . ./${script}`];
}

/** The exit status in a line of the status channel, or undefined when the line is something else. */
export function parseExitMarker(line: Uint8Array): number | undefined {
  if (line.length > 64) return undefined;
  const text = Buffer.from(line).toString('latin1');
  if (!text.startsWith(MARKER)) return undefined;
  const rest = text.slice(MARKER.length);
  return /^\d{1,3}$/.test(rest) ? Number(rest) : undefined;
}

/**
 * The outcome for an exit code when no marker arrived (the script replaced the EXIT trap, or closed fd 9):
 * runners report death by signal N as 128+N.
 */
export function exitCodeWithoutMarker(code: number): { type: 'exited'; code: number } | { type: 'signalled'; signal: number } {
  return code > 128 && code < 128 + 65 ? { type: 'signalled', signal: code - 128 } : { type: 'exited', code };
}
