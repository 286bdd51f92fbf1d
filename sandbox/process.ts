// The process sandbox: the job runs as a plain child process tree of the worker, in its own process group, with
// the worker's rights and file system, and a clean environment (job-environment.ts). The one isolation it adds is
// the network: without `network` the job runs in a network namespace without one, the worker's own (job-network.ts,
// entered with `nsenter --net`) or a fresh one (`unshare --net`); both exec, as does the sh that starts the script:
// the script itself is our direct child, and Node's exit code or signal is its own.
// Where the worker may share one namespace and holds jobs by cgroup, the jobs are forked by a small launcher process
// that lives in that namespace (job-launcher.ts) rather than by the worker: a fork of the worker's Node process and
// nsenter were most of a short job's CPU.
// The tree is held by a cgroup, a PID namespace or a /proc scan (job-containment.ts), the strongest available. Limits
// are refused rather than silently ignored. For trusted jobs, development, the baseline, and inside a FreeBSD
// jail (where the jail isolates, and the worker runs with --network).
import { systemClock, type Clock } from '../src/scheduler/clock.ts';
import { SandboxError } from '../src/errors/sandbox-error.ts';
import { chooseContainment, type Containment, type ContainmentKind, type JobHold } from './job-containment.ts';
import { baseEnvironment } from './job-environment.ts';
import { mayShareNetNamespace, SharedNetNamespace } from './job-network.ts';
import { JobLauncher, LaunchedJob, type LauncherKind } from './job-launcher.ts';
import { killTree } from './process-tree.ts';
import { probe, reasonText, runSpawned, spawnGated, type ChildLike } from './spawn-runner.ts';
import type { OnLine, PrestartSpec, RunOutcome, RunSpec, Sandbox } from './sandbox.ts';

export interface ProcessSandboxOptions {
  clock?: Clock;
  maxLineBytes?: number;
  /** How the job's tree is held (default: the strongest available here). */
  containment?: ContainmentKind;
  /** false: a fresh network namespace per job even where the worker's own could be shared (job-network.ts). */
  sharedNetNamespace?: boolean;
  /** false: the worker spawns each job itself even where the launcher could (job-launcher.ts); a kind: only that launcher. */
  launcher?: boolean | LauncherKind;
}

export class ProcessSandbox implements Sandbox {
  readonly name = 'process' as const;
  private readonly net = new SharedNetNamespace();
  private readonly launcher: JobLauncher;
  /** undefined until tried; false when the launcher is not used here. */
  private launcherUsable: Promise<boolean> | undefined;
  /** prestart()ed first processes by job directory. */
  private readonly started = new Map<string, Promise<Started | undefined>>();
  /** undefined until tried; false when the shared namespace is not used here. */
  private netShared: Promise<boolean> | undefined;
  constructor(private readonly options: ProcessSandboxOptions = {}) {
    this.launcher = new JobLauncher(typeof options.launcher === 'string' ? options.launcher : undefined);
  }

  get containment(): Containment {
    return chooseContainment(this.options.containment);
  }

  /** Under the /proc scan a process that leaves the job's group, session and console escapes it. */
  get jobsMayOutlive(): boolean {
    return this.containment.kind === 'scan';
  }

  describe(): string {
    const launched = this.launcher.running() ? '; jobs without network forked by a launcher in a network namespace that has only a loopback' : '';
    return `process sandbox; job trees held by ${this.containment.description}${launched}`;
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
      if (!(await this.launcherReady())) await this.sharedNet();
    }
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

  /**
   * Whether jobs without network are forked by the launcher (started, or restarted if it died): decided once, where
   * one namespace may be shared and the hold is a cgroup the launched process can join by itself.
   */
  private async launcherReady(): Promise<boolean> {
    const kind = this.containment.kind;
    if (this.options.launcher === false || this.options.sharedNetNamespace === false || kind !== 'cgroup' || !mayShareNetNamespace(kind)) return false;
    this.launcherUsable ??= this.launcher.start();
    if (!(await this.launcherUsable)) return false;
    return this.launcher.running() || this.launcher.start();
  }

  /** The job prepared by the launcher, which forks it into its hold at its go; undefined where not used. */
  private async launch(spec: PrestartSpec): Promise<Started | undefined> {
    if (spec.network || !(await this.launcherReady())) return undefined;
    const hold = this.containment.hold(spec.script, []);
    if (hold.procsFile === undefined) {
      await hold.release();
      return undefined;
    }
    const job = this.launcher.launch({ procs: hold.procsFile, dir: spec.dir, script: spec.script, env: this.environment(spec) });
    try {
      await job.prepared;
    } catch {
      await hold.release();
      return undefined;
    }
    return { child: job, go: () => job.go(), hold, key: startKey(spec) };
  }

  /** What runs the job without network: nsenter into the worker's namespace (restarted if its holder died), else unshare. */
  private async netPrefix(): Promise<string[]> {
    if (!(await this.sharedNet())) return unshareNet();
    const ready = this.net.prefix() ?? ((await this.net.start()) ? this.net.prefix() : undefined);
    return ready ?? unshareNet();
  }

  /**
   * The job's first process, started while the worker waits for the job: in its hold (the cgroup) and its network
   * namespace already, waiting for "go" on its stdin before it runs the script (JobHold.gatedArgv). Forking the
   * worker and the execs before the script were most of a short job's start, and overlap the wait this way.
   */
  prestart(spec: PrestartSpec): void {
    if (this.started.has(spec.dir) || hasLimits(spec.limits)) return;
    const started = (async (): Promise<Started | undefined> => {
      const launched = await this.launch(spec);
      if (launched) return launched;
      const prefix = spec.network ? [] : await this.netPrefix();
      const hold = this.containment.hold(spec.script, prefix);
      if (!hold.gatedArgv) {
        await hold.release();
        return undefined;
      }
      const child = spawnGated(hold.gatedArgv, spec.dir, this.environment(spec));
      return { child, go: () => child.stdin!.end('go\n'), hold, key: startKey(spec) };
    })().catch(() => undefined);
    this.started.set(spec.dir, started);
  }

  async cancelPrestart(dir: string): Promise<void> {
    const started = this.started.get(dir);
    if (!started) return;
    this.started.delete(dir);
    const s = await started;
    if (s) await endStarted(s);
  }

  async cleanup(): Promise<void> {
    await Promise.all([...this.started.keys()].map((dir) => this.cancelPrestart(dir)));
    this.net.stop();
    this.launcher.stop();
    this.launcherUsable = undefined;
  }

  private environment(spec: PrestartSpec): NodeJS.ProcessEnv {
    return { ...baseEnvironment(spec.dir, spec.dir), ...spec.env };
  }

  async run(spec: RunSpec, onLine: OnLine, signal: AbortSignal): Promise<RunOutcome> {
    if (hasLimits(spec.limits)) {
      throw new SandboxError('ERR_SANDBOX_SPEC', 'the process sandbox cannot enforce memory, CPU or process limits: use bwrap or docker');
    }
    const pending = this.started.get(spec.dir);
    this.started.delete(spec.dir);
    let started = pending ? await pending : undefined;
    // Only a started process (or a launcher's prepared job) still waiting for its go, made for this same job, is let go.
    if (started && (started.key !== startKey(spec) || !stillWaiting(started.child))) {
      await endStarted(started);
      started = undefined;
    }
    if (signal.aborted) {
      if (started) await endStarted(started);
      return { type: 'aborted', reason: reasonText(signal.reason) };
    }
    started ??= await this.launch(spec);
    const prefix = started || spec.network ? [] : await this.netPrefix();
    if (signal.aborted) {
      if (started) await endStarted(started);
      return { type: 'aborted', reason: reasonText(signal.reason) };
    }
    const hold = started?.hold ?? this.containment.hold(spec.script, prefix);
    return runSpawned(
      { argv: hold.argv, cwd: spec.dir, env: this.environment(spec), directChild: hold.directChild, hold, onEnded: spec.onEnded, started },
      spec.timeoutMs,
      onLine,
      signal,
      { clock: this.options.clock ?? systemClock, maxLineBytes: this.options.maxLineBytes },
      spec.timer,
    );
  }
}

interface Started {
  child: ChildLike;
  /** Lets it run the script: "go" on its stdin, or the launched job's console opened. */
  go(): void;
  hold: JobHold;
  /** What it was started for besides the directory: it runs only a job with the same network and environment. */
  key: string;
}

function stillWaiting(child: ChildLike): boolean {
  if (child instanceof LaunchedJob) return child.waiting;
  return child.exitCode === null && child.signalCode === null && child.pid !== undefined;
}

function startKey(spec: PrestartSpec): string {
  return JSON.stringify([spec.script, spec.network, spec.env ?? {}]);
}

function hasLimits(limits: PrestartSpec['limits']): boolean {
  return limits !== undefined && (limits.memoryBytes !== undefined || limits.cpus !== undefined || limits.pids !== undefined);
}

/** Kills a started process that will not run a job, with anything in its hold, and gives the hold back. */
async function endStarted(s: Started): Promise<void> {
  if (s.child instanceof LaunchedJob) {
    // Prepared only: a launcher's job is forked at its go, which only runSpawned gives. Its console goes.
    s.child.discard();
  } else {
    s.child.stdin?.destroy();
    s.child.stdout?.destroy();
    s.child.stderr?.destroy();
    const pid = s.child.pid;
    if (pid !== undefined && !s.hold.killAll(pid)) killTree(pid, new Set());
    if (pid !== undefined && s.child.exitCode === null && s.child.signalCode === null) await new Promise((resolve) => s.child.once('exit', resolve));
  }
  await s.hold.release();
}

/** A new network namespace with only a loopback that is down: as root directly, otherwise in a user namespace. */
function unshareNet(): string[] {
  return ['unshare', '--net', ...(process.getuid?.() === 0 ? [] : ['--map-root-user'])];
}
