// `builder server` started as a user starts it (node bin/builder.mjs), timed from the spawn to the first
// accepted TCP connection (polled every 2 ms), for the restart and memory benches.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { builderBin, freePort } from '../test/helpers/server-process.ts';

export interface Spawned {
  child: ChildProcess;
  port: number;
  /** ms from spawn to the first accepted connection */
  readyMs: number;
  stop(): Promise<void>;
}

export function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Spawns `argv` (after node and its flags) and waits for `port` to accept. */
export async function spawnUntilListening(argv: string[], port: number, opts: { nodeArgs?: string[]; cwd?: string } = {}): Promise<Spawned> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), ...argv], { stdio: ['ignore', 'ignore', 'pipe'], cwd: opts.cwd });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let done = false;
  void exited.then(() => (done = true));
  for (;;) {
    if (await connects(port)) break;
    if (done) throw new Error(`${argv.join(' ')} exited before listening:\n${err}`);
    if (performance.now() - t0 > 120_000) throw new Error(`${argv.join(' ')}: not listening after 120 s`);
    await new Promise((r) => setTimeout(r, 2));
  }
  const readyMs = performance.now() - t0;
  return {
    child,
    port,
    readyMs,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** `builder server` on dir, as the tests and a user start it (no web, no 9P: the TCP server alone). */
export async function spawnBuilderServer(dir: string, opts: { nodeArgs?: string[]; cwd?: string; args?: string[] } = {}): Promise<Spawned> {
  const port = await freePort();
  const argv = [builderBin, 'server', '--dir', dir, '--port', String(port), '--config-dir', path.join(dir, 'etc'), '--no-web', '--no-9p', '--log-level', 'warn', ...(opts.args ?? [])];
  return spawnUntilListening(argv, port, opts);
}

export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}
