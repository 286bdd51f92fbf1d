// Accepts connections, reads the hello, and starts the client's or the worker's conversation.
// A hello of another kind or version gets no answer, as the original: the connection is closed.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { asListenError } from '../errors/listen-error.ts';
import { CmdSocket } from '../protocol/cmd-socket.ts';
import { CLIENT_VERSION, WORKER_VERSION } from '../protocol/types.ts';
import { clientConversation } from './client-conversation.ts';
import type { Supervisor } from './supervisor.ts';
import { workerConversation } from './worker-conversation.ts';

export const DEFAULT_FIRST_COMMAND_TIMEOUT_MS = 30_000;

export interface ListenerOptions {
  host: string;
  port: number;
  maxFrameBytes?: number;
  helloMaxFrameBytes?: number;
  /** a connection that sends no hello within this time is closed */
  helloTimeoutMs?: number;
  maxConnections?: number;
  /** connections at once from one remote address */
  maxConnectionsPerAddress?: number;
  /** a client that sends no command, or a worker no JobRequested, this long after its hello is closed */
  firstCommandTimeoutMs?: number;
  observerMaxQueuedLines?: number;
}

/** File descriptors kept for the web, 9P, the store and result files when the builder port is full. */
export const FD_RESERVE = 256;
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 512;
/**
 * TCP keep-alive probes find a worker whose host vanished while it waits for a job, or an observer
 * while it waits for output (the protocol has no ping). Set after the hello, on the connections that
 * may wait: a one-command client is spared the system calls.
 */
const KEEPALIVE_MS = 60_000;

/** The soft RLIMIT_NOFILE (Linux), or undefined where it cannot be read. */
export function openFileLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The builder port's connection cap: the asked one, but never so many that the other listeners run out of descriptors. */
export function connectionCap(asked: number | undefined): number {
  const limit = openFileLimit();
  const budget = limit === undefined ? Infinity : Math.max(16, limit - FD_RESERVE);
  return Math.min(asked ?? 20_000, budget);
}

export interface Listener {
  address: { host: string; port: number };
  close(): Promise<void>;
}

export async function listen(sup: Supervisor, opts: ListenerOptions): Promise<Listener> {
  let counter = 0;
  const sockets = new Set<net.Socket>();
  const perAddress = new Map<string, number>();
  const maxPerAddress = opts.maxConnectionsPerAddress ?? DEFAULT_MAX_CONNECTIONS_PER_ADDRESS;
  const server = net.createServer((socket) => {
    const id = `c${++counter}`;
    const address = socket.remoteAddress ?? '?';
    socket.on('error', () => {});
    const held = perAddress.get(address) ?? 0;
    if (held >= maxPerAddress) {
      sup.bus.emit('connection:error', { id, remote: `${address}:${socket.remotePort}`, code: 'ERR_TOO_MANY_CONNECTIONS', message: `${held} connections from ${address} already` });
      socket.destroy();
      return;
    }
    perAddress.set(address, held + 1);
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      const n = (perAddress.get(address) ?? 1) - 1;
      if (n <= 0) perAddress.delete(address);
      else perAddress.set(address, n);
    });
    const sock = new CmdSocket(socket, {
      ...(opts.maxFrameBytes !== undefined ? { maxFrameBytes: opts.maxFrameBytes } : {}),
      ...(opts.helloMaxFrameBytes !== undefined ? { helloMaxFrameBytes: opts.helloMaxFrameBytes } : {}),
      log: (m) => sup.bus.log('warn', m, { connection: id }),
    });
    sup.bus.emit('connection:open', { id, remote: sock.remote });
    converse(sup, sock, id, opts)
      .catch((e) => sup.bus.emit('connection:error', { id, remote: sock.remote, code: (e as { code?: string }).code ?? 'ERR_CONNECTION', message: (e as Error).message }))
      .finally(() => {
        sup.bus.emit('connection:closed', { id, remote: sock.remote, reason: sock.closeReason ?? 'done' });
        if (!socket.destroyed) socket.destroy();
      });
  });
  server.maxConnections = connectionCap(opts.maxConnections);
  await new Promise<void>((resolve, reject) => {
    const failed = (e: Error) => reject(asListenError(e, 'builder port', opts.host, opts.port, '--port'));
    server.once('error', failed);
    server.listen(opts.port, opts.host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  // server:listening is emitted by startServer once every listener (web, 9P too) is bound.
  const addr = server.address() as net.AddressInfo;
  return {
    address: { host: addr.address, port: addr.port },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

async function converse(sup: Supervisor, sock: CmdSocket, id: string, opts: ListenerOptions): Promise<void> {
  const timer = setTimeout(() => sock.destroy('no hello in time'), opts.helloTimeoutMs ?? 30_000);
  let hello;
  try {
    hello = await sock.next();
  } finally {
    clearTimeout(timer);
  }
  if (hello === null) return;
  if (hello.type === 'client-hello' && hello.kind === 'client' && hello.version === CLIENT_VERSION) {
    // A client that sent its command with the hello (as ours does) gets the ServerHello in the same
    // write as the reply: one wake-up of the client, not two. A client that waits for the ServerHello
    // before it sends its command (the original) gets it at once, as before.
    if (sock.queued > 0) sock.hold({ type: 'server-hello' });
    else await sock.send({ type: 'server-hello' });
    return clientConversation(sock, sup, {
      keepAliveMs: KEEPALIVE_MS,
      ...(opts.observerMaxQueuedLines !== undefined ? { observerMaxQueuedLines: opts.observerMaxQueuedLines } : {}),
      firstCommandTimeoutMs: opts.firstCommandTimeoutMs ?? DEFAULT_FIRST_COMMAND_TIMEOUT_MS,
    });
  }
  if (hello.type === 'client-hello' && hello.kind === 'worker' && hello.version === WORKER_VERSION) {
    sock.socket.setKeepAlive(true, KEEPALIVE_MS);
    await sock.send({ type: 'server-hello' });
    return workerConversation(sock, sup, id, opts.firstCommandTimeoutMs ?? DEFAULT_FIRST_COMMAND_TIMEOUT_MS);
  }
  sock.destroy(hello.type === 'client-hello' ? `unsupported ${hello.kind} version ${hello.version}` : `expected a hello, got ${hello.type}`);
}
