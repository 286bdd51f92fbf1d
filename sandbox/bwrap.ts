// The bwrap sandbox (bubblewrap): read-only view of the root file system, private /tmp, /dev and /proc, the job
// directory the only writable place, every namespace unshared (network too unless asked), its own PID namespace
// so the whole tree dies with it, and --die-with-parent so it dies with the worker. bwrap's init reports a script
// killed by signal N as exit 128+N: the script runs under job-shell.ts's wrapper, which reports its exact status.
import { systemClock, type Clock } from '../src/scheduler/clock.ts';
import { SandboxError } from '../src/errors/sandbox-error.ts';
import { wrappedArgv } from './job-shell.ts';
import { probe, runSpawned } from './spawn-runner.ts';
import type { OnLine, RunOutcome, RunSpec, Sandbox } from './sandbox.ts';

export interface BwrapSandboxOptions {
  clock?: Clock;
  maxLineBytes?: number;
  /** The bwrap executable (default: bwrap from PATH). */
  bwrap?: string;
}

export function bwrapArgv(spec: RunSpec, bwrap = 'bwrap'): string[] {
  return [
    bwrap,
    '--die-with-parent',
    '--new-session',
    '--unshare-all',
    ...(spec.network ? ['--share-net'] : []),
    '--ro-bind', '/', '/',
    '--dev', '/dev',
    '--proc', '/proc',
    '--tmpfs', '/tmp',
    '--bind', spec.dir, spec.dir,
    '--chdir', spec.dir,
    ...wrappedArgv(spec.script),
  ];
}

export class BwrapSandbox implements Sandbox {
  readonly name = 'bwrap' as const;
  constructor(private readonly options: BwrapSandboxOptions = {}) {}

  async check(): Promise<void> {
    const bwrap = this.options.bwrap ?? 'bwrap';
    await probe([bwrap, '--die-with-parent', '--unshare-all', '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp', 'true'], `bwrap cannot create its namespaces here (it needs user namespaces, or root)`);
  }

  async run(spec: RunSpec, onLine: OnLine, signal: AbortSignal): Promise<RunOutcome> {
    const limits = spec.limits ?? {};
    if (limits.memoryBytes !== undefined || limits.cpus !== undefined || limits.pids !== undefined) {
      throw new SandboxError('ERR_SANDBOX_SPEC', 'the bwrap sandbox cannot enforce memory, CPU or process limits: use docker');
    }
    return runSpawned(
      { argv: bwrapArgv(spec, this.options.bwrap), cwd: spec.dir, env: { ...process.env, ...spec.env }, directChild: false },
      spec.timeoutMs,
      onLine,
      signal,
      { clock: this.options.clock ?? systemClock, maxLineBytes: this.options.maxLineBytes },
      spec.timer,
    );
  }
}
