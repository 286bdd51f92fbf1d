// How the process sandbox holds a job's whole process tree, so that nothing the job started outlives it, even a
// child that called setsid and closed its console. The strongest the worker may use here, chosen once by probing:
// - cgroup: a cgroup v2 per job under the worker's own cgroup (where the worker may create one). The job's first
//   process moves itself in before anything else runs; at the end `cgroup.kill` kills every member at once, and
//   the kernel, not a scan, knows who they are.
// - pid-namespace: `unshare --pid --fork --kill-child`: the job runs under an init of its own PID namespace; when
//   that init ends, the kernel kills everything left in the namespace. The script is the init's child, so its exit
//   status comes through job-shell.ts's wrapper.
// - scan: the job's process group and session, and the holders of its console, found in /proc (process-tree.ts).
//   A process that leaves the session and closes its console escapes.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxError } from '../src/errors/sandbox-error.ts';
import { directArgv, wrappedArgv } from './job-shell.ts';
import { leftByGoneWorkers } from './pid-alive.ts';

export type ContainmentKind = 'cgroup' | 'pid-namespace' | 'scan';
export const CONTAINMENT_KINDS: readonly ContainmentKind[] = ['cgroup', 'pid-namespace', 'scan'];

export interface JobHold {
  /** The argv that runs the script inside the hold; directChild as in spawn-runner.ts's SpawnPlan. */
  argv: string[];
  directChild: boolean;
  /** The same, but its first process (already in the hold) waits for a line "go" on its stdin before it runs the
   * script with stdin from /dev/null: started before the job is known (prestart); absent where not offered. */
  gatedArgv?: string[];
  /** The cgroup.procs file a job's first process writes its pid into, to join the hold (the launcher's way in). */
  procsFile?: string;
  /** Kills every process of the job still alive (leader: the spawned process, leading its group; leaderReaped: it has
   * exited and was waited for); false when the kernel cannot tell who they are and the caller must scan for them. */
  killAll(leader: number, leaderReaped?: boolean): boolean;
  /** Gives back what the hold took (the cgroup directory), once its members are gone; after killAll. */
  release(): Promise<void>;
}

export interface Containment {
  readonly kind: ContainmentKind;
  /** A hold for one job; prefix runs before the script (unshare --net). */
  hold(script: string, prefix: string[]): JobHold;
  /** A line for the worker's start: which containment is in use, and why not a stronger one. */
  readonly description: string;
}

/** The cgroup v2 directory of this process, when cgroup2 is mounted and it is listed in /proc/self/cgroup. */
export function ownCgroupDir(): string | undefined {
  let mount: string | undefined;
  let own: string | undefined;
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const [left, right] = line.split(' - ');
      if (right?.split(' ')[0] === 'cgroup2') {
        mount = left!.split(' ')[4];
        break;
      }
    }
    own = readFileSync('/proc/self/cgroup', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'))
      ?.slice(3);
  } catch {
    return undefined;
  }
  if (!mount || own === undefined) return undefined;
  return join(mount, own);
}

/** Empty job cgroups kept for the next jobs: making and removing one per job cost the worker 1.5-2 ms of CPU. */
const IDLE_CGROUPS_KEPT = 4;

class CgroupContainment implements Containment {
  readonly kind = 'cgroup' as const;
  /** Job cgroups whose members are all gone, to be used again. */
  private readonly idle: string[] = [];
  constructor(
    private readonly parent: string,
    readonly description: string,
  ) {}

  hold(script: string, prefix: string[]): JobHold {
    let dir = this.idle.pop();
    if (dir === undefined) {
      dir = join(this.parent, `job-${randomBytes(6).toString('hex')}`);
      mkdirSync(dir);
    }
    const procs = join(dir, 'cgroup.procs');
    // The first process of the job (after unshare has exec'd it) moves itself in before it execs the script.
    const sh = directArgv(script);
    // $0 stays /bin/sh (its error messages), the cgroup's file is $1.
    const argv = [...prefix, sh[0]!, sh[1]!, `echo $$ > "$1" || exit 125; ${sh[2]}`, sh[0]!, procs];
    const gate = `echo $$ > "$1" || exit 125; read -r go && [ "$go" = go ] || exit 125; exec 0</dev/null; ${sh[2]}`;
    const held = dir;
    let released = false;
    /** Seen empty by killAll after the leader was reaped: nothing of the job is left, nor can join. */
    let empty = false;
    return {
      argv,
      gatedArgv: [...prefix, sh[0]!, sh[1]!, gate, sh[0]!, procs],
      procsFile: procs,
      directChild: true,
      killAll(leader, leaderReaped = false) {
        // once given back, the group may hold the next job
        if (released) return true;
        if (!populated(held)) {
          // Usually the job's only process has just been reaped: nothing to kill, no group to signal (its number may
          // be another's by now), and nothing can join later (all of the job descends from the leader, which joined
          // before anything ran). A leader not yet reaped may not have joined yet: its group is signalled.
          if (leaderReaped) empty = true;
          else signalGroup(leader);
          return true;
        }
        empty = false;
        signalGroup(leader);
        try {
          writeFileSync(join(held, 'cgroup.kill'), '1');
        } catch {
          return false;
        }
        return true;
      },
      release: async () => {
        if (released) return;
        released = true;
        // cgroup.kill is carried out asynchronously: the group is free once its last member has exited. One that
        // never empties is not used again, and goes if it ever can.
        for (let i = 0; i < 2000; i++) {
          if (empty || !populated(held)) {
            if (this.idle.length < IDLE_CGROUPS_KEPT) this.idle.push(held);
            else rmdirQuietly(held);
            return;
          }
          await new Promise((r) => setTimeout(r, 5));
        }
      },
    };
  }

  /** Removes the idle job cgroups and the worker's own (at exit). */
  removeAll(): void {
    for (const dir of this.idle.splice(0)) rmdirQuietly(dir);
    rmdirQuietly(this.parent);
  }
}

/** Whether a live process is in the cgroup (its cgroup.events; an unreadable one counts as populated). */
function populated(dir: string): boolean {
  try {
    return !/^populated 0$/m.test(readFileSync(join(dir, 'cgroup.events'), 'latin1'));
  } catch {
    return true;
  }
}

class PidNamespaceContainment implements Containment {
  readonly kind = 'pid-namespace' as const;
  constructor(readonly description: string) {}

  hold(script: string, prefix: string[]): JobHold {
    return {
      argv: [...prefix, ...pidNamespacePrefix(), ...wrappedArgv(script)],
      directChild: false,
      // Killing unshare (and its group) takes its init with it (--kill-child), and the namespace with the init.
      killAll: (leader) => {
        signalGroup(leader);
        return true;
      },
      release: async () => undefined,
    };
  }
}

class ScanContainment implements Containment {
  readonly kind = 'scan' as const;
  constructor(readonly description: string) {}

  hold(script: string, prefix: string[]): JobHold {
    return {
      argv: [...prefix, ...directArgv(script)],
      directChild: true,
      killAll: (leader) => {
        signalGroup(leader);
        return false;
      },
      release: async () => undefined,
    };
  }
}

function pidNamespacePrefix(): string[] {
  return ['unshare', '--pid', '--fork', '--kill-child', ...(process.getuid?.() === 0 ? [] : ['--map-root-user'])];
}

function tryCgroup(): { ok: CgroupContainment } | { why: string } {
  const own = ownCgroupDir();
  if (!own) return { why: 'no cgroup v2 here' };
  removeStale(own);
  const parent = join(own, `builder-worker-${process.pid}`);
  try {
    if (!existsSync(parent)) mkdirSync(parent);
  } catch (err) {
    return { why: `cannot create a cgroup under ${own}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  const c = new CgroupContainment(parent, `cgroup v2 per job under ${parent}`);
  if (!existsSync(join(parent, 'cgroup.kill'))) {
    rmdirQuietly(parent);
    return { why: 'the kernel has no cgroup.kill (Linux < 5.14)' };
  }
  // The real thing once: a process that moves itself in, and a kill that empties the group.
  const probe = c.hold('true', []);
  const dir = probe.argv[probe.argv.length - 1]!.replace(/\/cgroup\.procs$/, '');
  const r = spawnSync('/bin/sh', ['-c', 'echo $$ > "$1"', 'sh', join(dir, 'cgroup.procs')], { stdio: ['ignore', 'ignore', 'pipe'] });
  probe.killAll(0);
  rmdirQuietly(dir);
  if (r.status !== 0) {
    rmdirQuietly(parent);
    return { why: `cannot move a process into a cgroup: ${String(r.stderr).trim() || `exit ${r.status}`}` };
  }
  process.once('exit', () => c.removeAll());
  return { ok: c };
}

function signalGroup(leader: number): void {
  if (leader <= 0) return;
  try {
    process.kill(-leader, 'SIGKILL');
  } catch {
    // gone already
  }
}

/** Empty cgroups left by workers that no longer run (killed with SIGKILL): removed, job groups first. */
function removeStale(own: string): void {
  for (const name of leftByGoneWorkers(own, /^builder-worker-(\d+)$/)) {
    const dir = join(own, name);
    try {
      for (const job of readdirSync(dir)) if (job.startsWith('job-')) rmdirQuietly(join(dir, job));
    } catch {
      continue;
    }
    rmdirQuietly(dir);
  }
}

function rmdirQuietly(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // in use, or already gone
  }
}

function tryPidNamespace(): string | undefined {
  const r = spawnSync(pidNamespacePrefix()[0]!, [...pidNamespacePrefix().slice(1), 'true'], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.error) return r.error.message;
  return r.status === 0 ? undefined : String(r.stderr).trim() || `exit ${r.status}`;
}

const cache = new Map<ContainmentKind | 'best', Containment>();

/** The strongest containment available here, or the one asked for (which throws when unavailable); probed once. */
export function chooseContainment(want?: ContainmentKind): Containment {
  const key = want ?? 'best';
  let c = cache.get(key);
  if (!c) {
    c = probeContainment(want);
    cache.set(key, c);
  }
  return c;
}

function probeContainment(want?: ContainmentKind): Containment {
  const whyNot: string[] = [];
  if (want === undefined || want === 'cgroup') {
    const c = tryCgroup();
    if ('ok' in c) return c.ok;
    if (want) throw new SandboxError('ERR_SANDBOX_SPAWN', `cgroup containment unavailable: ${c.why}`);
    whyNot.push(`no cgroup: ${c.why}`);
  }
  if (want === undefined || want === 'pid-namespace') {
    const why = tryPidNamespace();
    if (why === undefined) return new PidNamespaceContainment(`a PID namespace per job (unshare --pid)${whyNot.length ? `; ${whyNot.join('; ')}` : ''}`);
    if (want) throw new SandboxError('ERR_SANDBOX_SPAWN', `pid-namespace containment unavailable: ${why}`);
    whyNot.push(`no PID namespace: ${why}`);
  }
  return new ScanContainment(`a /proc scan of the job's group, session and console (a process that leaves both escapes)${whyNot.length ? `; ${whyNot.join('; ')}` : ''}`);
}
