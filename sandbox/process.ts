// The process sandbox: the job runs as a plain child process tree of the worker, in its own process group, with
// the worker's rights and file system, and a clean environment (job-environment.ts). The one isolation it adds is
// the network: without `network` the job runs in a fresh network namespace (`unshare --net`, which execs, as does
// the sh that starts the script: the script itself is our direct child, and Node's exit code or signal is its own).
// The tree is held by a cgroup, a PID namespace or a /proc scan (job-containment.ts), the strongest available. Limits
// are refused rather than silently ignored. For trusted jobs, development, the baseline, and inside a FreeBSD
// jail (where the jail isolates, and the worker runs with --network).
import { systemClock, type Clock } from '../src/scheduler/clock.ts';
import { SandboxError } from '../src/errors/sandbox-error.ts';
import { chooseContainment, type Containment, type ContainmentKind } from './job-containment.ts';
import { baseEnvironment } from './job-environment.ts';
import { probe, runSpawned } from './spawn-runner.ts';
import type { OnLine, RunOutcome, RunSpec, Sandbox } from './sandbox.ts';

export interface ProcessSandboxOptions {
  clock?: Clock;
  maxLineBytes?: number;
  /** How the job's tree is held (default: the strongest available here). */
  containment?: ContainmentKind;
}

export class ProcessSandbox implements Sandbox {
  readonly name = 'process' as const;
  constructor(private readonly options: ProcessSandboxOptions = {}) {}

  get containment(): Containment {
    return chooseContainment(this.options.containment);
  }

  describe(): string {
    return `process sandbox; job trees held by ${this.containment.description}`;
  }

  async check(jobs: { network?: boolean } = {}): Promise<void> {
    await probe(['/bin/sh', '-c', 'true'], 'the process sandbox needs /bin/sh');
    try {
      void this.containment;
    } catch (err) {
      throw new SandboxError('ERR_SANDBOX_SPAWN', (err as Error).message);
    }
    if (!jobs.network) {
      await probe([...unshareNet(), 'true'], 'the process sandbox cannot take the network away from jobs here (pass --network, or use bwrap or docker)');
    }
  }

  async run(spec: RunSpec, onLine: OnLine, signal: AbortSignal): Promise<RunOutcome> {
    const limits = spec.limits ?? {};
    if (limits.memoryBytes !== undefined || limits.cpus !== undefined || limits.pids !== undefined) {
      throw new SandboxError('ERR_SANDBOX_SPEC', 'the process sandbox cannot enforce memory, CPU or process limits: use bwrap or docker');
    }
    const hold = this.containment.hold(spec.script, spec.network ? [] : unshareNet());
    return runSpawned(
      { argv: hold.argv, cwd: spec.dir, env: { ...baseEnvironment(spec.dir, spec.dir), ...spec.env }, directChild: hold.directChild, hold },
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
