// Framing and CmdSocket over real TCP sockets on 127.0.0.1.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { CmdSocket, type CmdSocketOptions } from '../src/protocol/cmd-socket.ts';
import { connect } from '../src/protocol/connect.ts';
import { FrameReader, frame } from '../src/protocol/framing.ts';
import { encodeCmd } from '../src/protocol/cmd-codec.ts';
import { randomUuid } from '../src/protocol/uuid.ts';
import { ProtocolError } from '../src/errors/protocol-error.ts';
import { destroyPool } from '../src/pool/pool.ts';
import type { Cmd } from '../src/protocol/types.ts';

after(() => destroyPool());

const hello: Cmd = { type: 'client-hello', kind: 'worker', version: 5 };
const uuid = randomUuid();
const outputs: Cmd[] = Array.from({ length: 50 }, (_, i) => ({ type: 'output', uuid, line: new TextEncoder().encode(`line ${i}`) }));

/** A server whose connections are handed to `onConn` as CmdSockets; returns its port and a closer. */
async function serve(onConn: (s: CmdSocket) => void, opts: CmdSocketOptions = {}): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    onConn(new CmdSocket(sock, opts));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function rawClient(port: number): Promise<net.Socket> {
  const s = net.connect({ host: '127.0.0.1', port });
  await once(s, 'connect');
  return s;
}

function collect(sock: CmdSocket): Promise<{ cmds: Cmd[]; error?: unknown }> {
  return (async () => {
    const cmds: Cmd[] = [];
    try {
      for await (const c of sock) cmds.push(c);
      return { cmds };
    } catch (error) {
      return { cmds, error };
    }
  })();
}

test('FrameReader: byte by byte, several frames per chunk, limit before allocation', () => {
  const payloads = [encodeCmd(hello), ...outputs.slice(0, 3).map(encodeCmd)];
  const wire = Buffer.concat(payloads.map((p) => frame(p)));
  const r1 = new FrameReader({ maxFrameBytes: 1024 });
  const got1: Uint8Array[] = [];
  for (const b of wire) got1.push(...r1.push(Uint8Array.of(b)));
  assert.deepEqual(got1.map((p) => Buffer.from(p).toString('hex')), payloads.map((p) => Buffer.from(p).toString('hex')));
  const r2 = new FrameReader({ maxFrameBytes: 1024 });
  assert.equal(r2.push(wire).length, payloads.length);
  assert.equal(r2.midFrame, false);

  const r3 = new FrameReader({ maxFrameBytes: 1024 });
  const huge = Buffer.from('7fffffffffffffff', 'hex');
  assert.deepEqual(r3.push(huge.subarray(0, 5)), []);
  assert.throws(() => r3.push(huge.subarray(5)), (e: unknown) => e instanceof ProtocolError && e.code === 'ERR_FRAME_TOO_LARGE');
  assert.ok(r3.buffered <= 8, 'nothing buffered beyond the header');
  assert.throws(() => r3.push(Uint8Array.of(0)), /exceeds the limit/, 'stays failed');
  // pushEach lets the limit change between two frames of one chunk (raised after the hello)
  const r5 = new FrameReader({ maxFrameBytes: 64 });
  const big = frame(new Uint8Array(5000));
  const sizes: number[] = [];
  r5.pushEach(Buffer.concat([frame(encodeCmd(hello)), big]), (p) => {
    sizes.push(p.length);
    r5.setMaxFrameBytes(10_000);
  });
  assert.deepEqual(sizes, [encodeCmd(hello).length, 5000]);
  const r4 = new FrameReader({ maxFrameBytes: 1000 });
  assert.throws(() => r4.push(frame(new Uint8Array(1001))), (e: unknown) => (e as ProtocolError).code === 'ERR_FRAME_TOO_LARGE');
});

test('frames split across TCP writes and several frames in one write arrive in order', async () => {
  let received!: Promise<{ cmds: Cmd[]; error?: unknown }>;
  const srv = await serve((s) => (received = collect(s)));
  try {
    const c = await rawClient(srv.port);
    const wire = Buffer.concat([hello, ...outputs].map((cmd) => frame(encodeCmd(cmd))));
    // first 10 frames in 3-byte pieces, each write separated by a turn of the event loop
    const cut = Buffer.concat([hello, ...outputs.slice(0, 9)].map((cmd) => frame(encodeCmd(cmd)))).length;
    for (let i = 0; i < cut; i += 3) {
      c.write(wire.subarray(i, Math.min(i + 3, cut)));
      await new Promise((r) => setImmediate(r));
    }
    c.end(wire.subarray(cut)); // the rest (41 frames) in one write
    await once(c, 'close');
    const { cmds, error } = await received;
    assert.equal(error, undefined);
    assert.deepEqual(cmds, [hello, ...outputs]);
  } finally {
    await srv.close();
  }
});

test('sendFramed writes a frame made beforehand, in order with send and after what hold() kept, as often as asked', async () => {
  let received!: Promise<{ cmds: Cmd[]; error?: unknown }>;
  const srv = await serve((s) => (received = collect(s)));
  try {
    const c = await connect('127.0.0.1', srv.port);
    const framed = frame(encodeCmd(hello));
    const copy = Buffer.from(framed);
    c.hold(outputs[0]!);
    await c.sendFramed(framed, 'client-hello');
    await c.send(outputs[1]!);
    await c.sendFramed(framed, 'client-hello');
    await c.close();
    const { cmds, error } = await received;
    assert.equal(error, undefined);
    assert.deepEqual(cmds, [outputs[0], hello, outputs[1], hello]);
    assert.deepEqual(Buffer.from(framed), copy, 'the frame is not changed by sending it');
    c.destroy();
  } finally {
    await srv.close();
  }
});

test('an oversized frame closes the connection with a logged reason, before the body is sent', async () => {
  const logs: string[] = [];
  let serverSide: Promise<{ cmds: Cmd[]; error?: unknown }> | undefined;
  const srv = await serve((s) => (serverSide = collect(s)), { helloMaxFrameBytes: 1024, log: (m) => logs.push(m) });
  try {
    const c = await rawClient(srv.port);
    c.on('error', () => {});
    const closed = once(c, 'close');
    c.write(Buffer.from('0000000010000000', 'hex')); // 256 MiB announced before any hello
    await closed;
    const { cmds, error } = await serverSide!;
    assert.deepEqual(cmds, []);
    assert.ok(error instanceof ProtocolError);
    assert.equal(error.code, 'ERR_FRAME_TOO_LARGE');
    assert.equal(logs.length, 1);
    assert.match(logs[0]!, /closing connection: frame of 268435456 bytes exceeds the limit of 1024 bytes/);
  } finally {
    await srv.close();
  }
});

test('bad DER and truncated frames reject next() with a ProtocolError and close the socket', async () => {
  const logs: string[] = [];
  const results: Promise<{ cmds: Cmd[]; error?: unknown }>[] = [];
  const srv = await serve((s) => results.push(collect(s)), { log: (m) => logs.push(m) });
  try {
    const c1 = await rawClient(srv.port);
    c1.on('error', () => {});
    c1.write(Buffer.concat([frame(encodeCmd(hello)), frame(Buffer.from('a1020500', 'hex'))])); // obsolete Cmd [1]... with NULL
    await once(c1, 'close');
    const c2 = await rawClient(srv.port);
    c2.end(Buffer.concat([frame(encodeCmd(hello)), frame(encodeCmd(outputs[0]!)).subarray(0, 12)]));
    await once(c2, 'close');
    const [r1, r2] = await Promise.all(results);
    assert.deepEqual(r1!.cmds, [hello]);
    assert.equal((r1!.error as ProtocolError).code, 'ERR_PROTOCOL_OBSOLETE');
    assert.deepEqual(r2!.cmds, [hello]);
    assert.equal((r2!.error as ProtocolError).code, 'ERR_FRAME_TRUNCATED');
    assert.equal(logs.length, 2);
  } finally {
    await srv.close();
  }
});

test('a worker conversation through CmdSocket, with a large JobFinished after the hello', async () => {
  const artifact = new Uint8Array(randomBytes(3 * 1024 * 1024));
  const job = { type: 'script' as const, name: 'hello', script: 'echo hi', platform: 'test' };
  const serverLog: Cmd[] = [];
  let serverDone!: Promise<Cmd | null>;
  const conversation = async (s: CmdSocket): Promise<Cmd | null> => {
    serverLog.push((await s.next())!);
    await s.send({ type: 'server-hello' });
    serverLog.push((await s.next())!);
    await s.send({ type: 'job-schedule', uuid, job });
    for await (const c of s) {
      serverLog.push(c);
      if (c.type === 'job-finished') break;
    }
    return s.next();
  };
  const srv = await serve((s) => (serverDone = conversation(s)), { helloMaxFrameBytes: 4096 });
  try {
    const worker = await connect('127.0.0.1', srv.port, { helloMaxFrameBytes: 4096 });
    assert.match(worker.remote, /^127\.0\.0\.1:\d+$/);
    await worker.send(hello);
    assert.deepEqual(await worker.next(), { type: 'server-hello' });
    await worker.send({ type: 'job-requested', platform: 'test' });
    assert.deepEqual(await worker.next(), { type: 'job-schedule', uuid, job });
    for (const o of outputs.slice(0, 5)) void worker.send(o);
    void worker.sendBatch(outputs.slice(5, 10)); // one write, in order with send()
    const finished: Cmd = { type: 'job-finished', uuid, result: { type: 'exited', code: 0 }, files: [{ path: 'out.bin', data: artifact }] };
    await worker.send(finished);
    await worker.close();
    assert.equal(await serverDone, null, 'clean end of stream');
    assert.deepEqual(serverLog, [hello, { type: 'job-requested', platform: 'test' }, ...outputs.slice(0, 10), finished]);
    await worker.closed;
    await assert.rejects(worker.send({ type: 'success' }), (e: unknown) => (e as ProtocolError).code === 'ERR_SOCKET_CLOSED');
  } finally {
    await srv.close();
  }
});

test('connect rejects with the system error when nobody listens', async () => {
  const srv = net.createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  await assert.rejects(connect('127.0.0.1', port), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');
});
