import { readFileSync } from 'node:fs';

/** utime+stime of a process (all its threads) and of its reaped children (ms), from /proc (Linux; CLK_TCK 100). */
export function cpuOf(pid: number | undefined): { self: number; children: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    return { self: (f[11]! + f[12]!) * 10, children: (f[13]! + f[14]!) * 10 };
  } catch {
    return { self: NaN, children: NaN };
  }
}
