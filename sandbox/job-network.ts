// The network namespace the process sandbox's jobs run in when they are not given the network: one per worker,
// made once and entered by each job with `nsenter --net`, rather than a fresh one per job (`unshare --net`), whose
// creation and the kernel's asynchronous teardown were a large part of a short job's cost. Like a fresh one it
// has only a loopback, and that is down; the jobs of one worker run one after another and each job's whole tree is
// gone (job-containment.ts) before the next starts, so no process of one job can meet the next in it.
//
// Used only where that holds and where it is simple: as root (a user namespace would need nsenter --user and its
// credential rules), with a containment the kernel enforces (cgroup or PID namespace: with the /proc scan a process
// may escape, and it would then share the next job's namespace). Anywhere else, a namespace per job as before.
//
// A holder process keeps the namespace alive: `unshare --net` running a shell that reads its stdin, a pipe from the
// worker, so it ends with the worker however the worker ends. Before each job the holder is checked to be alive and
// still in the namespace made for it (its /proc/PID/ns/net link unchanged), so a job never enters another one.
import { spawn, type ChildProcess } from 'node:child_process';
import { readlinkSync } from 'node:fs';

export class SharedNetNamespace {
  private holder: ChildProcess | undefined;
  private nsLink: string | undefined;
  private starting: Promise<boolean> | undefined;

  /** The argv prefix that runs a command in the namespace; undefined while it is not ready (then use a fresh one). */
  prefix(): string[] | undefined {
    const h = this.holder;
    if (!h || h.exitCode !== null || h.signalCode !== null || h.pid === undefined || this.nsLink === undefined) return undefined;
    if (netNamespace(h.pid) !== this.nsLink) return undefined;
    return ['nsenter', `--net=/proc/${h.pid}/ns/net`];
  }

  /** Starts the holder (once); resolves true when the namespace is ready, false when it cannot be made here. */
  start(): Promise<boolean> {
    if (this.prefix()) return Promise.resolve(true);
    this.starting ??= this.spawnHolder().finally(() => (this.starting = undefined));
    return this.starting;
  }

  /** Ends the holder (the namespace goes once no job is left in it). */
  stop(): void {
    this.holder?.kill('SIGKILL');
    this.holder = undefined;
    this.nsLink = undefined;
  }

  private spawnHolder(): Promise<boolean> {
    this.stop();
    return new Promise<boolean>((resolve) => {
      const own = netNamespace('self');
      if (own === undefined) return resolve(false);
      // The line is printed once unshare has made the namespace and exec'd the shell, which then waits for the
      // worker's end (its stdin's EOF).
      const holder = spawn('unshare', ['--net', '/bin/sh', '-c', 'echo ready; read -r _'], { stdio: ['pipe', 'pipe', 'ignore'] });
      const fail = (): void => {
        holder.kill('SIGKILL');
        resolve(false);
      };
      holder.once('error', fail);
      holder.once('exit', () => {
        if (this.holder === holder) {
          this.holder = undefined;
          this.nsLink = undefined;
        }
        resolve(false);
      });
      holder.stdout!.once('data', () => {
        const link = holder.pid === undefined ? undefined : netNamespace(holder.pid);
        if (link === undefined || link === own) return fail();
        this.holder = holder;
        this.nsLink = link;
        holder.stdout!.destroy();
        // The holder must not keep the worker's event loop alive.
        holder.unref();
        (holder.stdin as unknown as { unref?: () => void }).unref?.();
        resolve(true);
      });
    });
  }
}

/** The network namespace a process is in (its /proc/PID/ns/net link), or undefined when it cannot be read. */
export function netNamespace(pid: number | 'self'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

/** Whether the shared namespace may be used: as root, with a containment that nothing escapes. */
export function mayShareNetNamespace(containment: string): boolean {
  return process.getuid?.() === 0 && containment !== 'scan' && process.platform === 'linux';
}
