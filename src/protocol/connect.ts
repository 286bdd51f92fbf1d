// Opens a TCP connection and wraps it in a CmdSocket.
import net from 'node:net';
import { CmdSocket, type CmdSocketOptions } from './cmd-socket.ts';

/**
 * Rejects with the system error (ECONNREFUSED, ...) when the connection cannot be made, or with
 * code ETIMEDOUT when it is not made within `timeoutMs` (default: the system's own limit).
 */
export function connect(host: string, port: number, opts: CmdSocketOptions = {}, timeoutMs?: number): Promise<CmdSocket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let timer: NodeJS.Timeout | undefined;
    const onError = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => onError(Object.assign(new Error(`no connection after ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
    }
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(new CmdSocket(socket, opts));
    });
  });
}
