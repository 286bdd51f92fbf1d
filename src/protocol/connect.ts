// Opens a TCP connection and wraps it in a CmdSocket.
import net from 'node:net';
import { CmdSocket, type CmdSocketOptions } from './cmd-socket.ts';

/** Rejects with the system error (ECONNREFUSED, ...) when the connection cannot be made. */
export function connect(host: string, port: number, opts: CmdSocketOptions = {}): Promise<CmdSocket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const onError = (err: Error): void => {
      socket.destroy();
      reject(err);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(new CmdSocket(socket, opts));
    });
  });
}
