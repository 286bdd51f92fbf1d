import { readdirSync } from 'node:fs';

// Whether a process exists (signal 0): EPERM means it does, owned by someone else.
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The entries of `dir` named after a worker's pid (the first group of `pattern`) that no longer runs, never this
 * process's own: what a worker killed with SIGKILL left behind. [] when `dir` cannot be read.
 */
export function leftByGoneWorkers(dir: string, pattern: RegExp): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((name) => {
    const m = pattern.exec(name);
    return m !== null && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]));
  });
}
