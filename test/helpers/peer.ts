// The original OCaml programs of ../shared/peer/bin (robur's builder-server, -client, -worker, -inspect)
// for the interop tests. They are part of every CI checkout (with their libraries installed by
// .ci/setup-system.sh): a missing binary fails the test, it is never skipped.
// The originals want IPv4 literals, and pay ~40 ms of Nagle per request (see ../shared/peer/README.md).
import { spawn } from 'node:child_process';
import { accessSync, constants, readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Proc, type CliResult } from './cli-process.ts';
import { freePort, repoRoot, waitForPort } from './server-process.ts';

export const PEER_BIN = path.resolve(repoRoot, '..', 'shared', 'peer', 'bin');

export type Original = 'builder-server' | 'builder-client' | 'builder-worker' | 'builder-inspect';

export function original(name: Original): string {
  const file = path.join(PEER_BIN, name);
  try {
    accessSync(file, constants.X_OK);
  } catch {
    throw new Error(`the original ${name} is missing at ${file}: the interop tests need ../shared/peer/bin beside the checkout`);
  }
  return file;
}

/** Runs an original program to its end (stdout as bytes too). */
export function runOriginal(name: Original, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(original(name), args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: os.tmpdir(), TERM: 'dumb' } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      const o = Buffer.concat(out);
      resolve({ status, signal, stdout: o.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), out: o });
    });
  });
}

/** The original client: `builder-client COMMAND ARGS -r REMOTE`. */
export function originalClient(remote: string, args: string[]): Promise<CliResult> {
  return runOriginal('builder-client', [...args, '-r', remote]);
}

export function startOriginal(name: Original, args: string[]): Proc {
  return new Proc(spawn(original(name), args, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: os.tmpdir(), TERM: 'dumb' } }));
}

/** A process in its own process group (a worker and the jobs it starts), so killGroup ends them all. */
export function startInGroup(file: string, args: string[]): Proc {
  return new Proc(spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, HOME: os.tmpdir(), TERM: 'dumb' } }));
}

/** The pids of every descendant of `pid`, from /proc. */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  for (let frontier = [pid]; frontier.length > 0; ) {
    const next = [...parent].filter(([, pp]) => frontier.includes(pp)).map(([c]) => c);
    out.push(...next);
    frontier = next;
  }
  return out;
}

/**
 * SIGKILL to the process, its group and every descendant (as a machine that goes away). The
 * original worker runs jobs under GNU timeout, which makes its own process group and inherits the
 * worker's socket: a job left alive would keep the worker's connection open.
 */
export async function killGroup(p: Proc): Promise<void> {
  const exited = p.child.exitCode !== null || p.child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => p.child.once('exit', () => r()));
  const pid = p.child.pid!;
  const below = descendants(pid);
  for (const target of [-pid, pid, ...below]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // not a group leader, or already gone
    }
  }
  await exited;
}

export interface OriginalServer {
  proc: Proc;
  port: number;
  remote: string;
  dir: string;
  configDir: string;
  /** SIGTERM (the original has no clean stop: it just dies) and wait; the dirs stay */
  stop(): Promise<void>;
  close(): Promise<void>;
}

/** The original builder-server on a free port with fresh --dir and --config-dir (or the given ones). */
export async function startOriginalServer(opts: { dir?: string; configDir?: string; upload?: string } = {}): Promise<OriginalServer> {
  const dir = opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'builder-orig-')));
  const configDir = opts.configDir ?? path.join(dir, 'etc');
  await mkdir(path.join(dir, 'data'), { recursive: true });
  await mkdir(configDir, { recursive: true });
  const port = await freePort();
  const proc = startOriginal('builder-server', ['--ip', '127.0.0.1', '--port', String(port), '--dir', path.join(dir, 'data'), '--config-dir', configDir, ...(opts.upload ? ['--upload', opts.upload] : [])]);
  await Promise.race([waitForPort(port), proc.exited.then(() => Promise.reject(new Error(`the original builder-server exited:\n${proc.stderr}`)))]);
  return {
    proc,
    port,
    remote: `127.0.0.1:${port}`,
    dir: path.join(dir, 'data'),
    configDir,
    stop: async () => void (await proc.stop('SIGTERM')),
    async close() {
      await proc.stop('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The original worker: takes one job of PLATFORM, runs it, reports it, exits. */
export function startOriginalWorker(platform: string, remote: string): Proc {
  return startInGroup(original('builder-worker'), ['-r', remote, platform]);
}
