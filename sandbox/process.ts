// The process sandbox: the job runs as a plain child process tree of the worker, in its own process group, with
// the worker's rights and file system, and a clean environment (job-environment.ts). The one isolation it adds is
// the network: without `network` the job runs in a network namespace without one, the worker's own (job-network.ts,
// entered with `nsenter --net`) or a fresh one (`unshare --net`); both exec, as does the sh that starts the script:
// the script itself is our direct child, and Node's exit code or signal is its own.
// The tree is held by a cgroup, a PID namespace or a /proc scan (job-containment.ts), the strongest available. Limits
// are refused rather than silently ignored. For trusted jobs, development, the baseline, and inside a FreeBSD
// jail (where the jail isolates, and the worker runs with --network).
import { systemClock, type Clock } from '../src/scheduler/clock.ts';
import { SandboxError } from '../src/errors/sandbox-error.ts';
import { chooseContainment, type Containment, type ContainmentKind } from './job-containment.ts';
import { baseEnvironment } from './job-environment.ts';
import { mayShareNetNamespace, SharedNetNamespace } from './job-network.ts';
import { probe, reasonText, runSpawned } from './spawn-runner.ts';
import type { OnLine, RunOutcome, RunSpec, Sandbox } from './sandbox.ts';

export interface ProcessSandboxOptions {
  clock?: Clock;
  maxLineBytes?: number;
  /** How the job's tree is held (default: the strongest available here). */
  containment?: ContainmentKind;
  /** false: a fresh network namespace per job even where the worker's own could be shared (job-network.ts). */
  sharedNetNamespace?: boolean;
}

export class ProcessSandbox implements Sandbox {
  readonly name = 'process' as const;
  private readonly net = new SharedNetNamespace();
  /** undefined until tried; false when the shared namespace is not used here. */
  private netShared: Promise<boolean> | undefined;
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
      await this.sharedNet();
    }
  }

  /** Ends the holder of the worker's network namespace, if there is one. */
  async cleanup(): Promise<void> {
    this.net.stop();
  }

  /** Whether jobs without network enter the worker's namespace: decided once, by making it and entering it. */
  private sharedNet(): Promise<boolean> {
    if (this.options.sharedNetNamespace === false || !mayShareNetNamespace(this.containment.kind)) return Promise.resolve(false);
    this.netShared ??= (async () => {
      if (!(await this.net.start())) return false;
      const prefix = this.net.prefix();
      if (!prefix) return false;
      try {
        await probe([...prefix, 'true'], 'nsenter');
        return true;
      } catch {
        this.net.stop();
        return false;
      }
    })();
    return this.netShared;
  }

  /** What runs the job without network: nsenter into the worker's namespace (restarted if its holder died), else unshare. */
  private async netPrefix(): Promise<string[]> {
    if (!(await this.sharedNet())) return unshareNet();
    const ready = this.net.prefix() ?? ((await this.net.start()) ? this.net.prefix() : undefined);
    return ready ?? unshareNet();
  }

  async run(spec: RunSpec, onLine: OnLine, signal: AbortSignal): Promise<RunOutcome> {
    const limits = spec.limits ?? {};
    if (limits.memoryBytes !== undefined || limits.cpus !== undefined || limits.pids !== undefined) {
      throw new SandboxError('ERR_SANDBOX_SPEC', 'the process sandbox cannot enforce memory, CPU or process limits: use bwrap or docker');
    }
    const prefix = spec.network ? [] : await this.netPrefix();
    if (signal.aborted) return { type: 'aborted', reason: reasonText(signal.reason) };
    const hold = this.containment.hold(spec.script, prefix);
    return runSpawned(
      { argv: hold.argv, cwd: spec.dir, env: { ...baseEnvironment(spec.dir, spec.dir), ...spec.env }, directChild: hold.directChild, hold, onEnded: spec.onEnded },
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
