// The process sandbox: the job runs as a plain child process tree of the worker, in its own process group, with
// the worker's rights and file system. The one isolation it adds is the network: without `network` the job runs
// in a fresh network namespace (`unshare --net`, which execs, as does the sh that starts the script: the script
// itself is our direct child, and Node's exit code or signal is its own). Limits
// are refused rather than silently ignored. For trusted jobs, development, the baseline, and inside a FreeBSD
// jail (where the jail isolates, and the worker runs with --network).
import { systemClock, type Clock } from '../src/scheduler/clock.ts';
import { SandboxError } from '../src/errors/sandbox-error.ts';
import { directArgv } from './job-shell.ts';
import { probe, runSpawned } from './spawn-runner.ts';
import type { OnLine, RunOutcome, RunSpec, Sandbox } from './sandbox.ts';

export interface ProcessSandboxOptions {
  clock?: Clock;
  maxLineBytes?: number;
}

export class ProcessSandbox implements Sandbox {
  readonly name = 'process' as const;
  constructor(private readonly options: ProcessSandboxOptions = {}) {}

  async check(jobs: { network?: boolean } = {}): Promise<void> {
    await probe(['/bin/sh', '-c', 'true'], 'the process sandbox needs /bin/sh');
    if (!jobs.network) {
      await probe([...unshareNet(), 'true'], 'the process sandbox cannot take the network away from jobs here (pass --network, or use bwrap or docker)');
    }
  }

  async run(spec: RunSpec, onLine: OnLine, signal: AbortSignal): Promise<RunOutcome> {
    const limits = spec.limits ?? {};
    if (limits.memoryBytes !== undefined || limits.cpus !== undefined || limits.pids !== undefined) {
      throw new SandboxError('ERR_SANDBOX_SPEC', 'the process sandbox cannot enforce memory, CPU or process limits: use bwrap or docker');
    }
    const argv = directArgv(spec.script);
    if (!spec.network) argv.unshift(...unshareNet());
    return runSpawned(
      { argv, cwd: spec.dir, env: { ...process.env, ...spec.env }, directChild: true },
      spec.timeoutMs,
      onLine,
      signal,
      { clock: this.options.clock ?? systemClock, maxLineBytes: this.options.maxLineBytes },
      spec.timer,
    );
  }
}

/** A new network namespace with only a loopback that is down: as root directly, otherwise in a user namespace. */
function unshareNet(): string[] {
  return ['unshare', '--net', ...(process.getuid?.() === 0 ? [] : ['--map-root-user'])];
}
