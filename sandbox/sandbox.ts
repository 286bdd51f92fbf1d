// The one interface every sandbox implements: run a job's script in a prepared directory, stream its merged
// console as lines, and say how it ended. What a sandbox isolates differs (see process.ts, bwrap.ts, docker.ts);
// how a job is run inside it does not (job-shell.ts).
import type { Result } from '../src/protocol/types.ts';

export type SandboxName = 'process' | 'bwrap' | 'docker';
export const SANDBOX_NAMES: readonly SandboxName[] = ['process', 'bwrap', 'docker'];

export interface SandboxLimits {
  memoryBytes?: number;
  cpus?: number;
  pids?: number;
}

export interface RunSpec {
  /** Absolute path of the job directory; it holds the script and receives the artifacts. */
  dir: string;
  /** File name of the script inside dir (script.sh). */
  script: string;
  timeoutMs: number;
  /** Whether the job may reach the network. */
  network: boolean;
  /** Variables the operator passes to jobs (job-environment.ts), on top of the sandbox's own small set. */
  env?: Record<string, string>;
  limits?: SandboxLimits;
  /** Told when each phase of the run ends (worker --timings). */
  timer?: { mark(phase: string): void };
  /** Told once the job's process has ended (before its output is drained and its artifacts collected). */
  onEnded?: () => void;
}

export type PrestartSpec = Pick<RunSpec, 'dir' | 'script' | 'network' | 'env' | 'limits'>;

export type RunOutcome =
  | { type: 'exited'; code: number }
  | { type: 'signalled'; signal: number }
  | { type: 'stopped'; signal: number }
  | { type: 'timeout' }
  | { type: 'out-of-memory' }
  /** Stopped from outside (server lost, worker exiting): nothing will be reported for it. */
  | { type: 'aborted'; reason: string }
  /** The sandbox itself failed (could not start the job). */
  | { type: 'failed'; message: string };

export type OnLine = (line: Uint8Array) => void;

export interface Sandbox {
  readonly name: SandboxName;
  run(spec: RunSpec, onLine: OnLine, signal: AbortSignal): Promise<RunOutcome>;
  /** Rejects with a SandboxError saying what is missing when the sandbox cannot run such jobs here. */
  check(jobs?: { network?: boolean }): Promise<void>;
  /** One line for the worker's start: the sandbox and how it holds and isolates jobs. */
  describe?(): string;
  /**
   * True where a job's process can outlive the job (a hold the kernel does not enforce): its directory is then
   * never given to a later job (run-job.ts JobDirs).
   */
  readonly jobsMayOutlive?: boolean;
  /**
   * Starts, before the job is known, what will run a job in spec.dir (the looping worker, while it waits for its
   * next job): run() for that directory, with the same network and environment, then only lets it go. Optional.
   */
  prestart?(spec: PrestartSpec): void;
  /** Ends what prestart() started for dir, if run() did not take it. */
  cancelPrestart?(dir: string): Promise<void>;
  /** Releases whatever the sandbox still holds (containers, processes); safe to call more than once. */
  cleanup?(): Promise<void>;
}

/** The wire Result for an outcome, as the original worker reports it (timeout as the server's own Msg "timeout"). */
export function outcomeToResult(outcome: RunOutcome): Result {
  switch (outcome.type) {
    case 'exited':
      return { type: 'exited', code: outcome.code };
    case 'signalled':
      return { type: 'signalled', signal: outcome.signal };
    case 'stopped':
      return { type: 'stopped', signal: outcome.signal };
    case 'timeout':
      return { type: 'msg', message: 'timeout' };
    case 'out-of-memory':
      return { type: 'msg', message: 'out of memory' };
    case 'aborted':
      return { type: 'msg', message: `aborted: ${outcome.reason}` };
    case 'failed':
      return { type: 'msg', message: `sandbox failure: ${outcome.message}` };
  }
}

/** Artifacts are sent only after a normal exit (any code), as the original does. */
export function outcomeKeepsArtifacts(outcome: RunOutcome): boolean {
  return outcome.type === 'exited';
}
