// How a job's script is started in every sandbox. As in the original worker (`/bin/sh -ec "timeout 1h ./script.sh"`),
// the script is EXECUTED in the job directory, not sourced: its shebang line chooses the interpreter (a script
// without one is run by /bin/sh, which falls back to interpreting a file execve refuses with ENOEXEC), and it runs
// without -e unless it sets it itself. stdout and stderr are merged into one console.
//
// The outcome must tell "killed by signal N" apart from "exited 128+N", which a shell's $? (and bwrap's init,
// tini, docker's State) cannot. Two ways:
// - directArgv: `exec ./script.sh` from sh, so the script IS the process the worker spawned and Node's 'exit'
//   (code, signal) is its own termination (the process sandbox; `unshare` execs too).
// - wrappedArgv: where a runner sits between the worker and the script (bwrap, a container), a POSIX-sh wrapper
//   makes the script its command-substitution child (forked like a foreground command, so SIGINT and SIGQUIT are
//   not ignored as they would be for `&`) and, while it reads that substitution, does not reap it. A watcher
//   forked just before the exec holds the substitution's pipe open, waits until the script is a zombie, reads the
//   wait status the kernel keeps for it (/proc/PID/stat field 52) and prints it; the wrapper then writes a marker
//   line to the original stderr (fd 9), the status channel the worker reads. The wrapper's own stderr is
//   /dev/null: dash would print "Terminated" there for a killed script, which the original does not. If the watcher cannot tell (no /proc,
//   a /bin/sh that reaps in its SIGCHLD handler such as bash, no `sleep`), no marker is written and the wrapper
//   exits with $?, read as 128+N = signal N (exitCodeWithoutMarker).

const MARKER = 'builder-sandbox-';
const SCRIPT_NAME = /^[A-Za-z0-9._-]+$/;

function checkScriptName(script: string): void {
  if (!SCRIPT_NAME.test(script) || script === '.' || script === '..') throw new RangeError(`script name must be a plain file name, got ${JSON.stringify(script)}`);
}

/** sh that merges stderr into stdout and becomes the script: the spawned process's own exit is the script's. */
export function directArgv(script: string): string[] {
  checkScriptName(script);
  return ['/bin/sh', '-c', `exec 2>&1; exec ./${script}`];
}

// Functions are defined at the top level: parentheses inside $( ) trip some shells' parsers.
// peek PID: prints "exit N" or "signal N" once PID is a zombie; polls with a growing pause (at most 0.1 s: the job's end waits for it).
const WRAPPER = `peek() {
  p=$1 t=0.01
  while read -r s < "/proc/$p/stat"; do
    set -- \${s##*[)] }
    if [ "$1" = Z ]; then
      shift 49 || return
      if [ $(($1 & 127)) -eq 0 ]; then echo "exit $(($1 >> 8 & 255))"; else echo "signal $(($1 & 127))"; fi
      return
    fi
    sleep $t || sleep 1 || return
    case $t in 0.01) t=0.02 ;; 0.02) t=0.05 ;; 0.05) t=0.1 ;; esac
  done
}
run() {
  read -r s < /proc/self/stat
  peek "\${s%% *}" </dev/null 2>/dev/null &
  exec ./SCRIPT 1>&8 2>&8 8>&- 9>&-
}
exec 9>&2 8>&1 2>/dev/null
how=$(run)
code=$?
case $how in
  'exit '[0-9]* | 'signal '[0-9]*) echo "${MARKER}$how" >&9 ;;
esac
exit $code
`;

/** The wrapper described above, for runners that stand between the worker and the script. */
export function wrappedArgv(script: string): string[] {
  checkScriptName(script);
  return ['/bin/sh', '-c', WRAPPER.replace('SCRIPT', script)];
}

export type MarkedOutcome = { type: 'exited'; code: number } | { type: 'signalled'; signal: number };

/** The outcome in a line of the status channel, or undefined when the line is something else. */
export function parseStatusMarker(line: Uint8Array): MarkedOutcome | undefined {
  if (line.length > 64) return undefined;
  const match = /^builder-sandbox-(exit|signal) (\d{1,3})$/.exec(Buffer.from(line).toString('latin1'));
  if (!match) return undefined;
  const n = Number(match[2]);
  return match[1] === 'exit' ? { type: 'exited', code: n } : { type: 'signalled', signal: n };
}

/**
 * The outcome for a runner's exit code when no marker arrived (the wrapper could not watch the script):
 * runners report death by signal N as 128+N.
 */
export function exitCodeWithoutMarker(code: number): MarkedOutcome {
  return code > 128 && code < 128 + 65 ? { type: 'signalled', signal: code - 128 } : { type: 'exited', code };
}
