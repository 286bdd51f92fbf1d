// Killing a job's whole process tree from outside. The job runs as the leader of its own session and process
// group (spawned detached), so kill(-pgid) reaches everything that stayed in the group. On Linux /proc is also
// scanned for processes that left the group (setsid, setpgid) but still belong to the session, or still hold the
// job's console pipe: those are killed too. A process that left the session and closed the console escapes: the
// process sandbox is not a jail (bwrap and docker are).
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export function pipeIdsOf(pid: number): Set<string> {
  const ids = new Set<string>();
  for (const fd of [1, 2]) {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      // libuv's stdio "pipes" are socket pairs: the child's end has its own inode, distinct from ours.
      if (link.startsWith('pipe:') || link.startsWith('socket:')) ids.add(link);
    } catch {
      // not Linux, or the process is already gone
    }
  }
  return ids;
}

function signalQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // ESRCH: already gone; EPERM: not ours
  }
}

/** pid, process group and session of every process, from /proc/<pid>/stat; empty where there is no /proc. */
function listProcesses(): { pid: number; pgrp: number; session: number }[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: { pid: number; pgrp: number; session: number }[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      // The command name is in parentheses and may hold spaces: fields are counted after its closing one.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ pid: Number(name), pgrp: Number(fields[2]), session: Number(fields[3]) });
    } catch {
      // exited while we looked
    }
  }
  return out;
}

function holdsPipe(pid: number, pipeIds: Set<string>): boolean {
  if (pipeIds.size === 0) return false;
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        if (pipeIds.has(readlinkSync(`/proc/${pid}/fd/${fd}`))) return true;
      } catch {
        // fd closed meanwhile
      }
    }
  } catch {
    // gone or not ours
  }
  return false;
}

/** Members of the job's tree still alive: its group, its session, holders of its console pipe. */
export function treeMembers(leader: number, pipeIds: Set<string>): number[] {
  const self = process.pid;
  return listProcesses()
    .filter((p) => p.pid !== self && (p.pgrp === leader || p.session === leader || holdsPipe(p.pid, pipeIds)))
    .map((p) => p.pid);
}

export function killTree(leader: number, pipeIds: Set<string>): void {
  signalQuietly(-leader, 'SIGKILL');
  for (let round = 0; round < 5; round++) {
    const members = treeMembers(leader, pipeIds);
    if (members.length === 0) return;
    for (const pid of members) signalQuietly(pid, 'SIGKILL');
  }
}
