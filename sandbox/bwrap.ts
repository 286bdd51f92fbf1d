// The bwrap sandbox (bubblewrap): the job sees only what a build needs, read-only (/usr, /bin, /sbin, /lib*, /etc
// without its secrets, plus what the operator adds with --bwrap-ro), a private /tmp, /dev and /proc, and its own
// directory, the only writable place. Not /root, /home, /var (the server's data), the server's config, the
// worker's other jobs. Every namespace is unshared (network too unless asked), its own PID namespace so the whole
// tree dies with it, and --die-with-parent so it dies with the worker. Its environment is the fixed set of
// job-environment.ts. bwrap's init reports a script killed by signal N as exit 128+N: the script runs under
// job-shell.ts's wrapper, which reports its exact status.
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock, type Clock } from '../src/scheduler/clock.ts';
import { SandboxError } from '../src/errors/sandbox-error.ts';
import { baseEnvironment } from './job-environment.ts';
import { wrappedArgv } from './job-shell.ts';
import { probe, runSpawned } from './spawn-runner.ts';
import type { OnLine, RunOutcome, RunSpec, Sandbox } from './sandbox.ts';

export interface BwrapSandboxOptions {
  clock?: Clock;
  maxLineBytes?: number;
  /** The bwrap executable (default: bwrap from PATH). */
  bwrap?: string;
  /** More host paths shown read-only to jobs, after the defaults. */
  readOnly?: string[];
}

/** What a build needs from the host, shown read-only where it exists (a symbolic link is recreated as one). */
export const DEFAULT_READ_ONLY = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc'];

/** Files under /etc hidden behind an empty file, and directories behind an empty tmpfs. */
export const HIDDEN_FILES = ['/etc/shadow', '/etc/shadow-', '/etc/gshadow', '/etc/gshadow-', '/etc/sudoers', '/etc/security/opasswd'];
export const HIDDEN_DIRS = ['/etc/ssl/private', '/etc/sudoers.d', '/etc/builder', '/etc/docker'];

function kind(path: string): 'dir' | 'file' | 'link' | undefined {
  try {
    const st = lstatSync(path);
    return st.isSymbolicLink() ? 'link' : st.isDirectory() ? 'dir' : 'file';
  } catch {
    return undefined;
  }
}

/** SSH host keys and any other private key file under /etc/ssh. */
function sshKeys(): string[] {
  try {
    return readdirSync('/etc/ssh')
      .filter((n) => /_key$/.test(n))
      .map((n) => join('/etc/ssh', n));
  } catch {
    return [];
  }
}

function readOnlyArgs(paths: readonly string[]): string[] {
  const args: string[] = [];
  for (const path of paths) {
    const k = kind(path);
    if (k === 'link') args.push('--symlink', readlinkSync(path), path);
    else if (k) args.push('--ro-bind', path, path);
  }
  return args;
}

/** The host as jobs see it: the defaults, their secrets hidden, private /dev /proc /tmp, then the operator's paths. */
export function hostViewArgs(readOnly: readonly string[] = []): string[] {
  const args = readOnlyArgs(DEFAULT_READ_ONLY);
  for (const file of [...HIDDEN_FILES, ...sshKeys()]) if (kind(file) === 'file') args.push('--ro-bind', '/dev/null', file);
  for (const dir of HIDDEN_DIRS) if (kind(dir) === 'dir') args.push('--tmpfs', dir);
  args.push('--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp');
  return [...args, ...readOnlyArgs(readOnly)];
}

export function bwrapArgv(spec: RunSpec, bwrap = 'bwrap', readOnly: readonly string[] = []): string[] {
  return [
    bwrap,
    '--die-with-parent',
    '--new-session',
    '--unshare-all',
    ...(spec.network ? ['--share-net'] : []),
    ...hostViewArgs(readOnly),
    '--bind', spec.dir, spec.dir,
    '--chdir', spec.dir,
    ...wrappedArgv(spec.script),
  ];
}

/** bwrap's PID namespace holds the tree: killing bwrap's group takes its init, and the namespace with it. */
const namespaceHold = {
  killAll(leader: number): boolean {
    try {
      process.kill(-leader, 'SIGKILL');
    } catch {
      // gone already
    }
    return true;
  },
  release: async () => undefined,
};

export class BwrapSandbox implements Sandbox {
  readonly name = 'bwrap' as const;
  constructor(private readonly options: BwrapSandboxOptions = {}) {}

  describe(): string {
    const extra = this.options.readOnly?.length ? ` and ${this.options.readOnly.join(', ')}` : '';
    return `bwrap sandbox; jobs see ${DEFAULT_READ_ONLY.join(' ')} (where present, /etc without its secrets)${extra} read-only, a private /tmp, their own directory`;
  }

  async check(): Promise<void> {
    const bwrap = this.options.bwrap ?? 'bwrap';
    await probe([bwrap, '--die-with-parent', '--unshare-all', ...hostViewArgs(this.options.readOnly), 'true'], `bwrap cannot create its namespaces here (it needs user namespaces, or root)`);
  }

  async run(spec: RunSpec, onLine: OnLine, signal: AbortSignal): Promise<RunOutcome> {
    const limits = spec.limits ?? {};
    if (limits.memoryBytes !== undefined || limits.cpus !== undefined || limits.pids !== undefined) {
      throw new SandboxError('ERR_SANDBOX_SPEC', 'the bwrap sandbox cannot enforce memory, CPU or process limits: use docker');
    }
    return runSpawned(
      { argv: bwrapArgv(spec, this.options.bwrap, this.options.readOnly), cwd: spec.dir, env: { ...baseEnvironment(spec.dir, '/tmp'), ...spec.env }, directChild: false, hold: namespaceHold, onEnded: spec.onEnded },
      spec.timeoutMs,
      onLine,
      signal,
      { clock: this.options.clock ?? systemClock, maxLineBytes: this.options.maxLineBytes },
      spec.timer,
    );
  }
}
