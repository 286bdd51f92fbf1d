// Accepts connections, reads the hello, and starts the client's or the worker's conversation.
// A hello of another kind or version gets no answer, as the original: the connection is closed.
import net from 'node:net';
import { asListenError } from '../errors/listen-error.ts';
import { CmdSocket } from '../protocol/cmd-socket.ts';
import { CLIENT_VERSION, WORKER_VERSION } from '../protocol/types.ts';
import { clientConversation } from './client-conversation.ts';
import type { Supervisor } from './supervisor.ts';
import { workerConversation } from './worker-conversation.ts';

export interface ListenerOptions {
  host: string;
  port: number;
  maxFrameBytes?: number;
  helloMaxFrameBytes?: number;
  /** a connection that sends no hello within this time is closed */
  helloTimeoutMs?: number;
  maxConnections?: number;
  observerMaxQueuedLines?: number;
}

export interface Listener {
  address: { host: string; port: number };
  close(): Promise<void>;
}

export async function listen(sup: Supervisor, opts: ListenerOptions): Promise<Listener> {
  let counter = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    const id = `c${++counter}`;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
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
  server.maxConnections = opts.maxConnections ?? 20_000;
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
    await sock.send({ type: 'server-hello' });
    return clientConversation(sock, sup, opts.observerMaxQueuedLines !== undefined ? { observerMaxQueuedLines: opts.observerMaxQueuedLines } : {});
  }
  if (hello.type === 'client-hello' && hello.kind === 'worker' && hello.version === WORKER_VERSION) {
    await sock.send({ type: 'server-hello' });
    return workerConversation(sock, sup, id);
  }
  sock.destroy(hello.type === 'client-hello' ? `unsupported ${hello.kind} version ${hello.version}` : `expected a hello, got ${hello.type}`);
}
