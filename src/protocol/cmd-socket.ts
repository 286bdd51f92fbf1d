// One conversation over one TCP connection: framed DER Cmds in both directions.
import type net from 'node:net';
import { ProtocolError, ProtocolErrorCode as E } from '../errors/protocol-error.ts';
import { decodeCmd, encodeCmd } from './cmd-codec.ts';
import { DEFAULT_HELLO_MAX_FRAME_BYTES, DEFAULT_MAX_FRAME_BYTES, FrameReader, frameHeader } from './framing.ts';
import { encodeCmdOffThread, encodesOffThread } from '../pool/pool.ts';
import type { Cmd } from './types.ts';

export interface CmdSocketOptions {
  /** Frame limit once a hello has been received (default 256 MiB). */
  maxFrameBytes?: number;
  /** Frame limit until then (default 64 KiB). */
  helloMaxFrameBytes?: number;
  /** Where the reason of a connection closed on error goes (default: stderr). */
  log?: (message: string) => void;
  /** Decoded commands held before reading from the socket pauses (default 256). */
  maxQueued?: number;
}

type Waiter = { resolve: (c: Cmd | null) => void; reject: (e: Error) => void };

const defaultLog = (m: string): void => {
  process.stderr.write(`builder: ${m}\n`);
};

export class CmdSocket implements AsyncIterable<Cmd> {
  readonly remote: string;
  /** Resolves once the socket is fully closed. */
  readonly closed: Promise<void>;
  /** Why the connection was closed by us, if it was (a protocol error or destroy(reason)). */
  closeReason: string | undefined;

  private readonly reader: FrameReader;
  private readonly maxFrameBytes: number;
  private readonly log: (m: string) => void;
  private readonly maxQueued: number;
  private readonly queue: Cmd[] = [];
  private readonly waiters: Waiter[] = [];
  private ended = false;
  private error: Error | undefined;
  private sendChain: Promise<void> = Promise.resolve();
  private paused = false;
  /** Frames kept by hold(), sent at the front of the next write. */
  private held: Uint8Array[] | undefined;

  constructor(
    readonly socket: net.Socket,
    opts: CmdSocketOptions = {},
  ) {
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.reader = new FrameReader({ maxFrameBytes: Math.min(opts.helloMaxFrameBytes ?? DEFAULT_HELLO_MAX_FRAME_BYTES, this.maxFrameBytes) });
    this.log = opts.log ?? defaultLog;
    this.maxQueued = opts.maxQueued ?? 256;
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.setNoDelay(true);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => {
      if (this.reader.midFrame) this.fail(new ProtocolError(E.FRAME_TRUNCATED, `connection ended inside a frame (${this.reader.buffered} bytes of it read)`));
      else this.ended = true;
      this.deliver();
    });
    socket.on('error', (err) => {
      this.error ??= new ProtocolError(E.CONNECTION_LOST, `connection to ${this.remote} lost: ${err.message}`, { cause: err });
      this.deliver();
    });
    socket.on('close', () => {
      this.ended = true;
      this.deliver();
    });
  }

  /** Commands received and not yet taken by next(). */
  get queued(): number {
    return this.queue.length;
  }

  /** Changes the frame limit now (it is raised automatically when a hello is received). */
  setMaxFrameBytes(n: number): void {
    this.reader.setMaxFrameBytes(n);
  }

  private onData(chunk: Buffer): void {
    if (this.error) return;
    try {
      this.reader.pushEach(chunk, (payload) => {
        const cmd = decodeCmd(payload);
        if (cmd.type === 'client-hello' || cmd.type === 'server-hello') this.reader.setMaxFrameBytes(this.maxFrameBytes);
        this.queue.push(cmd);
      });
    } catch (err) {
      this.fail(err instanceof ProtocolError ? err : new ProtocolError(E.CONNECTION_LOST, String(err), { cause: err }));
    }
    if (this.queue.length >= this.maxQueued && !this.paused && !this.error) {
      this.paused = true;
      this.socket.pause();
    }
    this.deliver();
  }

  private fail(err: Error): void {
    if (this.error) return;
    this.error = err;
    this.closeReason = err.message;
    this.log(`${this.remote}: closing connection: ${err.message}`);
    this.socket.destroy();
  }

  private deliver(): void {
    while (this.waiters.length > 0) {
      if (this.queue.length > 0) this.waiters.shift()!.resolve(this.queue.shift()!);
      else if (this.error) this.waiters.shift()!.reject(this.error);
      else if (this.ended) this.waiters.shift()!.resolve(null);
      else break;
    }
    if (this.paused && this.queue.length < this.maxQueued / 2) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** The next command; null on a clean end of the stream. Rejects with a ProtocolError on a bad frame (the socket is destroyed). */
  next(): Promise<Cmd | null> {
    if (this.queue.length > 0 && this.waiters.length === 0) {
      const cmd = this.queue.shift()!;
      this.deliver();
      return Promise.resolve(cmd);
    }
    return this.watch().next;
  }

  /**
   * next(), withdrawn by stop(): then the promise never settles and what comes goes to a later next() (a worker
   * watching the server during a job, on a connection it keeps for its next job).
   */
  watch(): { next: Promise<Cmd | null>; stop(): void } {
    let waiter: Waiter | undefined;
    const next = new Promise<Cmd | null>((resolve, reject) => {
      waiter = { resolve, reject };
      this.waiters.push(waiter);
      this.deliver();
    });
    return {
      next,
      stop: () => {
        const i = this.waiters.indexOf(waiter!);
        if (i >= 0) this.waiters.splice(i, 1);
      },
    };
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Cmd> {
    for (;;) {
      const cmd = await this.next();
      if (cmd === null) return;
      yield cmd;
    }
  }

  /** The received commands as an async iterable (ends on a clean end of stream). */
  commands(): AsyncIterable<Cmd> {
    return this;
  }

  /**
   * Sends one command; resolves when it has been handed to the kernel. Sends keep their order. `then`: a command
   * framed beforehand (see sendFramed), written right behind it in the same socket write.
   */
  send(cmd: Cmd, then?: Uint8Array): Promise<void> {
    const p = this.sendChain.then(() => this.write(cmd, then));
    this.sendChain = p.catch(() => undefined);
    return p;
  }

  /**
   * Sends a command framed beforehand (framing.ts frame() of encodeCmd()), in order with send(): a command sent the
   * same on every connection (a worker's hello and JobRequested) is encoded once. The bytes must not change after.
   */
  sendFramed(framed: Uint8Array, what: Cmd['type']): Promise<void> {
    const p = this.sendChain.then(() => this.writeFrames([framed], what));
    this.sendChain = p.catch(() => undefined);
    return p;
  }

  /**
   * Sends several commands in one socket write (e.g. a burst of Output lines), in order with send().
   * Meant for small commands: they are encoded inline.
   */
  sendBatch(cmds: Cmd[]): Promise<void> {
    const p = this.sendChain.then(() => this.writeBatch(cmds));
    this.sendChain = p.catch(() => undefined);
    return p;
  }

  /**
   * Sends `cmd` with the next send or sendBatch, in the same socket write, or at close() if none
   * comes: when a reply follows soon anyway, the peer is woken once for both. Order is kept: it goes
   * after everything sent before and before everything sent after. Meant for small commands (the
   * ServerHello): it is encoded now. flush() sends it at once.
   */
  hold(cmd: Cmd): void {
    const payload = encodeCmd(cmd);
    const chain = this.sendChain.then(() => {
      (this.held ??= []).push(frameHeader(payload.length), payload);
    });
    this.sendChain = chain;
  }

  /** Sends what hold() kept, if anything, now. */
  flush(): Promise<void> {
    const p = this.sendChain.then(() => (this.held ? this.writeFrames([], 'held commands') : undefined));
    this.sendChain = p.catch(() => undefined);
    return p;
  }

  private async writeBatch(cmds: Cmd[]): Promise<void> {
    if (cmds.length === 0) return;
    const parts: Uint8Array[] = [];
    for (const c of cmds) {
      const payload = encodeCmd(c);
      parts.push(frameHeader(payload.length), payload);
    }
    await this.writeFrames(parts, cmds[0]!.type);
  }

  private async write(cmd: Cmd, then?: Uint8Array): Promise<void> {
    const payload = encodesOffThread(cmd) ? await encodeCmdOffThread(cmd) : encodeCmd(cmd);
    await this.writeFrames(then ? [frameHeader(payload.length), payload, then] : [frameHeader(payload.length), payload], cmd.type);
  }

  private async writeFrames(parts: Uint8Array[], what: string): Promise<void> {
    const s = this.socket;
    if (s.destroyed || s.writableEnded) throw new ProtocolError(E.SOCKET_CLOSED, `cannot send ${what} to ${this.remote}: connection closed`);
    const held = this.held;
    this.held = undefined;
    // a large payload is written as it is, not copied into one buffer with its header (corked: one writev)
    const all = held ? [...held, ...parts] : parts;
    const data = all.length === 1 || all.some((p) => p.length > 65536) ? all : [Buffer.concat(all)];
    await new Promise<void>((resolve, reject) => {
      s.cork();
      data.forEach((d, i) =>
        s.write(d, i < data.length - 1 ? undefined : (err) => (err ? reject(new ProtocolError(E.CONNECTION_LOST, `sending ${what} to ${this.remote} failed: ${err.message}`, { cause: err })) : resolve())),
      );
      s.uncork();
    });
  }

  /** Ends our side after the pending sends; resolves when everything is flushed (or the socket closed). */
  async close(): Promise<void> {
    await this.sendChain;
    if (this.held) await this.flush().catch(() => undefined);
    const s = this.socket;
    if (s.destroyed || s.writableFinished) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        s.off('finish', done);
        s.off('close', done);
        resolve();
      };
      s.once('finish', done);
      s.once('close', done);
      s.end();
    });
  }

  /** Closes the connection at once; a reason is logged and kept in closeReason. */
  destroy(reason?: string | Error): void {
    if (reason !== undefined && !this.socket.destroyed) {
      this.closeReason = reason instanceof Error ? reason.message : reason;
      this.log(`${this.remote}: closing connection: ${this.closeReason}`);
    }
    this.socket.destroy();
  }
}
