// Real processes for the command-line tests: a `builder server` on a free port with a temp --dir, workers,
// and `builder <client command>` runs with their output and exit status.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export const BIN = new URL('../../bin/builder.mjs', import.meta.url).pathname;
export const CLIENT_ALIAS = new URL('../../bin/builder-client.mjs', import.meta.url).pathname;

// bin/ runs dist/: rebuilt here when a source changed since, so a test never runs an old build
execFileSync(process.execPath, [new URL('../../scripts/build.mjs', import.meta.url).pathname, '--if-stale'], { stdio: 'inherit' });

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout as bytes */
  out: Buffer;
}

export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.BUILDER_REMOTE;
  delete env.FORCE_COLOR;
  delete env.NO_COLOR;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Runs `node bin/builder.mjs ARGS` (or another entry) to its end. */
export function runCli(args: string[], opts: { env?: Record<string, string | undefined>; bin?: string; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [opts.bin ?? BIN, ...args], { env: cleanEnv(opts.env), cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (status, signal) => {
      const o = Buffer.concat(out);
      resolve({ status, signal, stdout: o.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), out: o });
    });
  });
}

/** A running process whose output is collected; waitFor resolves once a pattern shows up. */
export class Proc {
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ status: number | null; signal: NodeJS.Signals | null }>;
  private waiters: (() => void)[] = [];

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (c: Buffer) => {
      this.stdout += c.toString('utf8');
      this.wake();
    });
    child.stderr?.on('data', (c: Buffer) => {
      this.stderr += c.toString('utf8');
      this.wake();
    });
    this.exited = new Promise((resolve) => child.on('close', (status, signal) => {
      this.wake();
      resolve({ status, signal });
    }));
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves with the match once `pattern` appears in stdout or stderr; rejects if the process ends first or after timeoutMs. */
  async waitFor(pattern: RegExp, where: 'stdout' | 'stderr' | 'any' = 'any', timeoutMs = 30_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    let ended = false;
    void this.exited.then(() => (ended = true));
    for (;;) {
      const text = where === 'stdout' ? this.stdout : where === 'stderr' ? this.stderr : this.stdout + '\n' + this.stderr;
      const m = text.match(pattern);
      if (m) return m;
      if (ended || this.child.exitCode !== null) throw new Error(`process ended before ${pattern}:\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms:\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Sends the signal and waits for the end. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ status: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

export function startProc(args: string[], opts: { env?: Record<string, string | undefined>; cwd?: string; bin?: string } = {}): Proc {
  return new Proc(spawn(process.execPath, [opts.bin ?? BIN, ...args], { env: cleanEnv(opts.env), cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] }));
}

export interface ServerProc {
  proc: Proc;
  dir: string;
  port: number;
  remote: string;
  /** SIGTERM and wait; the dir stays */
  stop(): Promise<void>;
  /** stop and remove the dir */
  close(): Promise<void>;
}

/** `builder server --port 0 --dir <temp> --no-web --no-9p`, ready once it logged its port. */
export async function startServerProcess(opts: { dir?: string; args?: string[] } = {}): Promise<ServerProc> {
  const dir = opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'builder-cli-')));
  const proc = startProc(['server', '--port', '0', '--dir', dir, '--config-dir', path.join(dir, 'etc'), '--no-web', '--no-9p', ...(opts.args ?? [])]);
  const m = await proc.waitFor(/server:listening\b.*\bport=(\d+)/, 'stderr');
  const port = Number(m[1]);
  return {
    proc,
    dir,
    port,
    remote: `127.0.0.1:${port}`,
    async stop() {
      await proc.stop('SIGTERM');
    },
    async close() {
      await proc.stop('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** `builder worker PLATFORM --loop` against the server, with its own temporary job directory. */
export async function startWorkerProcess(platform: string, remote: string, extra: string[] = []): Promise<Proc & { tmp: string }> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'builder-cli-worker-'));
  const proc = startProc(['worker', platform, '-r', remote, '--loop', '--tmp', tmp, ...extra]) as Proc & { tmp: string };
  proc.tmp = tmp;
  return proc;
}

export async function stopWorker(w: Proc & { tmp: string }): Promise<void> {
  // twice: the first lets a job finish, the second kills it
  if (w.child.exitCode === null) {
    w.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 50));
    if (w.child.exitCode === null) w.child.kill('SIGTERM');
  }
  await w.exited;
  await rm(w.tmp, { recursive: true, force: true });
}

/** Polls `check` until it returns a value (not undefined), up to timeoutMs. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
