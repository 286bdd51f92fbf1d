// A TCP server for worker tests that speaks raw frames: it checks the worker's bytes against the original's
// vectors and answers with vector bytes, with no codec of ours in between.
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';

export const VECTORS = new URL('../../shared/vectors/', import.meta.url);

export function vector(name: string): Buffer {
  return readFileSync(new URL(`${name}.der`, VECTORS));
}

export function framed(payload: Uint8Array): Buffer {
  const header = Buffer.alloc(8);
  header.writeBigUInt64BE(BigInt(payload.length));
  return Buffer.concat([header, payload]);
}

/** One accepted connection, read frame by frame. */
export class RawConnection {
  private buffered = Buffer.alloc(0);
  private waiting: (() => void) | undefined;
  ended = false;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.waiting?.();
    });
    const end = () => {
      this.ended = true;
      this.waiting?.();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
  }

  /** The next frame's payload, or null when the connection ended first. */
  async readFrame(): Promise<Buffer | null> {
    for (;;) {
      if (this.buffered.length >= 8) {
        const length = Number(this.buffered.readBigUInt64BE(0));
        if (this.buffered.length >= 8 + length) {
          const payload = this.buffered.subarray(8, 8 + length);
          this.buffered = this.buffered.subarray(8 + length);
          return Buffer.from(payload);
        }
      }
      if (this.ended) return null;
      await new Promise<void>((resolve) => (this.waiting = resolve));
      this.waiting = undefined;
    }
  }

  send(payload: Uint8Array): void {
    this.socket.write(framed(payload));
  }
}

export class RawServer {
  private readonly queue: RawConnection[] = [];
  private waiting: ((c: RawConnection) => void) | undefined;
  readonly server: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor() {
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      const connection = new RawConnection(socket);
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w(connection);
      } else this.queue.push(connection);
    });
  }

  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  /** Connections accepted and not yet taken by accept(). */
  get pending(): number {
    return this.queue.length;
  }

  accept(): Promise<RawConnection> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
  }
}
