// A real builder server on 127.0.0.1 (port 0) with a fresh LMDB directory, plus raw protocol peers.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server/builder-server.ts';
import { connect } from '../../src/protocol/connect.ts';
import type { CmdSocket } from '../../src/protocol/cmd-socket.ts';
import type { Cmd } from '../../src/protocol/types.ts';

export interface Fixture {
  server: RunningServer;
  dir: string;
  port: number;
  close(): Promise<void>;
  /** Restarts on the same directory (a clean stop). */
  restart(overrides?: Partial<ServerOptions>): Promise<void>;
}

export async function tempDir(prefix = 'builder-test-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function startFixture(opts: Partial<ServerOptions> = {}): Promise<Fixture> {
  const dir = opts.dir ?? (await tempDir());
  const base = { host: '127.0.0.1', port: 0, dir, configDir: path.join(dir, 'etc'), ...opts };
  const fx: Fixture = {
    server: await startServer(base),
    dir,
    get port() {
      return fx.server.address.port;
    },
    async close() {
      await fx.server.close();
      await rm(dir, { recursive: true, force: true });
    },
    async restart(overrides = {}) {
      await fx.server.close();
      fx.server = await startServer({ ...base, ...overrides });
    },
  };
  return fx;
}

/** A client conversation: hello, the command, and every reply up to Success or Failure. */
export async function clientCall(port: number, cmd: Cmd): Promise<Cmd[]> {
  const sock = await connect('127.0.0.1', port);
  try {
    await sock.send({ type: 'client-hello', kind: 'client', version: 13 });
    const hello = await sock.next();
    if (hello?.type !== 'server-hello') throw new Error(`expected server-hello, got ${hello?.type}`);
    await sock.send(cmd);
    const replies: Cmd[] = [];
    for (;;) {
      const r = await sock.next();
      if (r === null) return replies;
      replies.push(r);
      if (r.type === 'success' || r.type === 'failure') return replies;
    }
  } finally {
    sock.destroy();
  }
}

/** The last reply of a client call, which must be Success or Failure. */
export async function outcome(port: number, cmd: Cmd): Promise<Cmd> {
  const replies = await clientCall(port, cmd);
  return replies[replies.length - 1]!;
}

/** A worker that said hello and asked for a job; `job()` waits for the JobSchedule. */
export async function workerRequest(port: number, platform: string): Promise<{ sock: CmdSocket; job(): Promise<Extract<Cmd, { type: 'job-schedule' }>> }> {
  const sock = await connect('127.0.0.1', port);
  await sock.send({ type: 'client-hello', kind: 'worker', version: 5 });
  const hello = await sock.next();
  if (hello?.type !== 'server-hello') throw new Error(`expected server-hello, got ${hello?.type}`);
  await sock.send({ type: 'job-requested', platform });
  return {
    sock,
    async job() {
      const c = await sock.next();
      if (c?.type !== 'job-schedule') throw new Error(`expected job-schedule, got ${c?.type ?? 'end of stream'}`);
      return c;
    },
  };
}

export const enc = (s: string) => new TextEncoder().encode(s);
export const dec = (b: Uint8Array) => new TextDecoder().decode(b);
