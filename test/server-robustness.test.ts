// The original's conversations replayed byte for byte from the vectors, and bad input: malformed,
// obsolete and oversized frames, wrong hellos, silent peers, slow and many observers, state import,
// and actor events to a Stately inspector.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { createWebSocketInspector } from '@statelyai/inspect';
import { frame } from '../src/protocol/framing.ts';
import { decodeCmd, encodeCmd } from '../src/protocol/cmd-codec.ts';
import { decodeExec } from '../src/protocol/exec-codec.ts';
import { uuidToString } from '../src/protocol/uuid.ts';
import type { Cmd } from '../src/protocol/types.ts';
import { clientCall, enc, outcome, startFixture, workerRequest, type Fixture } from './helpers/server-fixture.ts';
import { repoRoot } from './helpers/server-process.ts';

const vectors = process.env.BUILDER_VECTORS_DIR ?? path.resolve(repoRoot, '..', 'shared', 'vectors');
const vec = async (name: string) => new Uint8Array(await readFile(path.join(vectors, `${name}.der`)));
const VECTOR_UUID = Buffer.from('f47ac10b58cc4372a5670e02b2c3d479', 'hex');

/** A raw TCP peer: writes bytes, reads whole frames. */
class Raw {
  private buf = Buffer.alloc(0);
  private waiting?: () => void;
  ended = false;
  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiting?.();
    });
    socket.on('close', () => {
      this.ended = true;
      this.waiting?.();
    });
    socket.on('error', () => {});
  }
  static connect(port: number): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(new Raw(s)));
      s.once('error', reject);
    });
  }
  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }
  /** the next whole frame (prefix included), or null when the connection ended first */
  async frame(): Promise<Buffer | null> {
    for (;;) {
      if (this.buf.length >= 8) {
        const len = Number(this.buf.readBigUInt64BE(0));
        if (this.buf.length >= 8 + len) {
          const f = this.buf.subarray(0, 8 + len);
          this.buf = this.buf.subarray(8 + len);
          return f;
        }
      }
      if (this.ended) return null;
      await new Promise<void>((r) => (this.waiting = r));
    }
  }
  close(): void {
    this.socket.destroy();
  }
}

function withUuid(bytes: Uint8Array, uuid: Uint8Array): Buffer {
  const b = Buffer.from(bytes);
  const i = b.indexOf(VECTOR_UUID);
  assert.ok(i >= 0, 'the vector holds the sample uuid');
  Buffer.from(uuid).copy(b, i);
  return b;
}

describe('the original conversations, byte for byte', () => {
  let fx: Fixture;
  before(async () => {
    fx = await startFixture();
  });
  after(() => fx.close());

  async function client(cmdVector: string): Promise<Buffer[]> {
    const raw = await Raw.connect(fx.port);
    raw.write(frame(await vec('client_hello_client')));
    assert.deepEqual(await raw.frame(), Buffer.from(frame(await vec('server_hello'))));
    raw.write(frame(await vec(cmdVector)));
    const out: Buffer[] = [];
    for (;;) {
      const f = await raw.frame();
      if (!f) break;
      out.push(f);
    }
    raw.close();
    return out;
  }

  test('framed.bin is the client hello the server answers', async () => {
    const raw = await Raw.connect(fx.port);
    raw.write(await readFile(path.join(vectors, 'framed.bin')));
    assert.deepEqual(await raw.frame(), Buffer.from(frame(await vec('server_hello'))));
    raw.close();
  });

  test('schedule, a second schedule of the name, execute, reschedule, info, unschedule', async () => {
    const success = Buffer.from(frame(await vec('success')));
    assert.deepEqual(await client('schedule'), [success]);
    assert.deepEqual(await client('schedule'), [Buffer.from(frame(await vec('failure')))]);
    assert.deepEqual(await client('execute'), [success]);
    assert.deepEqual(await client('execute_platform'), [success]);
    const info = await client('info');
    assert.equal(info.length, 2);
    assert.equal(decodeCmd(info[0]!.subarray(8)).type, 'info-reply');
    assert.deepEqual(info[1], success);
    assert.deepEqual(await client('reschedule'), [success]);
  });

  test('a worker: hello, job requested, the job, output, job finished', async () => {
    const raw = await Raw.connect(fx.port);
    raw.write(frame(await vec('client_hello_worker')));
    assert.deepEqual(await raw.frame(), Buffer.from(frame(await vec('server_hello'))));
    raw.write(frame(await vec('job_requested')));
    const js = await raw.frame();
    const cmd = decodeCmd(js!.subarray(8)) as Extract<Cmd, { type: 'job-schedule' }>;
    assert.equal(cmd.type, 'job-schedule');
    assert.deepEqual(js, Buffer.from(frame(withUuid(await vec('job_schedule'), cmd.uuid))), 'JobSchedule as the original sends it');
    raw.write(frame(withUuid(await vec('output'), cmd.uuid)));
    raw.write(frame(withUuid(await vec('job_finished_exited'), cmd.uuid)));
    assert.equal(await raw.frame(), null, 'the server ends the conversation');
    const exec = decodeExec(new Uint8Array(await readFile(path.join(fx.dir, 'hello-job', uuidToString(cmd.uuid), 'full'))));
    assert.deepEqual(exec.files.map((f) => f.path), ['out.txt', 'bin/hello.hvt']);
    assert.deepEqual(exec.console.map((c) => Buffer.from(c.line).toString()), ['hello']);
  });

  test('the hello and a command in one write, the command far above the pre-hello frame limit', async () => {
    const script = `echo ${'x'.repeat(300 * 1024)}\n`;
    const raw = await Raw.connect(fx.port);
    raw.write(Buffer.concat([frame(await vec('client_hello_client')), frame(encodeCmd({ type: 'schedule', period: 'never', job: { type: 'script', name: 'pipelined', script, platform: 'p' } }))]));
    assert.deepEqual(await raw.frame(), Buffer.from(frame(await vec('server_hello'))));
    assert.deepEqual(await raw.frame(), Buffer.from(frame(await vec('success'))));
    raw.close();
    const info = await clientCall(fx.port, { type: 'info' });
    const item = info.find((c) => c.type === 'info-reply');
    assert.ok(item && item.type === 'info-reply' && item.info.schedule.some((e) => e.job.name === 'pipelined' && e.job.type === 'script' && e.job.script === script));
  });

  test('unschedule and the platform commands', async () => {
    const success = Buffer.from(frame(await vec('success')));
    assert.deepEqual(await client('unschedule'), [success]);
    const unknown = await client('drop_platform');
    assert.deepEqual(decodeCmd(unknown[0]!.subarray(8)), { type: 'failure', message: 'unknown platform freebsd-13' });
  });
});

describe('bad input loses nothing and harms no other connection', () => {
  let fx: Fixture;
  before(async () => {
    fx = await startFixture({ helloTimeoutMs: 300 });
  });
  after(() => fx.close());

  async function closedWithoutAnswer(bytes: Uint8Array): Promise<void> {
    const raw = await Raw.connect(fx.port);
    raw.write(bytes);
    assert.equal(await raw.frame(), null);
  }

  test('malformed, obsolete and oversized frames close only their connection', async () => {
    const bystander = await workerRequest(fx.port, 'calm');
    await closedWithoutAnswer(frame(new Uint8Array([0x30, 0x80, 0x00, 0x00]))); // indefinite length
    await closedWithoutAnswer(frame(new Uint8Array([0xa0, 0x03, 0x02, 0x01, 0x00]))); // obsolete Cmd [0]: kills the original
    const huge = Buffer.alloc(8);
    huge.writeBigUInt64BE(1n << 40n);
    await closedWithoutAnswer(huge);
    // a hello of another version or kind gets no answer
    await closedWithoutAnswer(frame(new Uint8Array([0xae, 0x09, 0x30, 0x07, 0xa0, 0x02, 0x05, 0x00, 0x02, 0x01, 0x0c])));
    // a peer that says nothing is closed after the hello timeout
    await closedWithoutAnswer(new Uint8Array());
    // garbage after a valid hello
    const raw = await Raw.connect(fx.port);
    raw.write(frame(await vec('client_hello_client')));
    await raw.frame();
    raw.write(frame(new Uint8Array([0xff, 0xff])));
    assert.equal(await raw.frame(), null);
    // the waiting worker is still served
    assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'never', job: { type: 'script', name: 'calm-job', script: 'true', platform: 'calm' } }), { type: 'success' });
    const js = await bystander.job();
    assert.equal(js.job.name, 'calm-job');
    bystander.sock.destroy();
  });
});

describe('observers', () => {
  let fx: Fixture;
  before(async () => {
    fx = await startFixture({ observerMaxQueuedLines: 100 });
  });
  after(() => fx.close());

  test('a slow observer loses old lines, is told how many, and always gets the result line; others get everything', async () => {
    const w = await workerRequest(fx.port, 'obs');
    assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'never', job: { type: 'script', name: 'chatty', script: 'yes', platform: 'obs' } }), { type: 'success' });
    const js = await w.job();
    // A raw observer that does not read while the job prints.
    const slow = await Raw.connect(fx.port);
    slow.socket.pause();
    slow.write(frame(await vec('client_hello_client')));
    slow.write(frame(Buffer.concat([Buffer.from([0xaa, 0x12, 0x0c, 0x10]), Buffer.from(js.uuid)])));
    const fast = [clientCall(fx.port, { type: 'observe', uuid: js.uuid }), clientCall(fx.port, { type: 'observe', uuid: js.uuid })];
    await new Promise((r) => setTimeout(r, 100));
    const LINES = 20_000;
    const line = 'x'.repeat(1000);
    for (let i = 0; i < LINES; i++) await w.sock.send({ type: 'output', uuid: js.uuid, line: enc(`${i} ${line}`) });
    await w.sock.send({ type: 'job-finished', uuid: js.uuid, result: { type: 'exited', code: 0 }, files: [] });
    // Every observer accounts for every line: received, or counted in a drop notice.
    const account = (cmds: Cmd[]) => {
      const texts = cmds.filter((c): c is Extract<Cmd, { type: 'output' }> => c.type === 'output').map((c) => Buffer.from(c.line).toString());
      const dropped = texts.map((t) => /^builder: (\d+) console lines? dropped/.exec(t)).reduce((n, m) => n + (m ? Number(m[1]) : 0), 0);
      const data = texts.filter((t) => /^\d+ x/.test(t));
      const numbers = data.map((t) => Number(t.split(' ')[0]));
      assert.deepEqual(numbers, [...numbers].sort((a, b) => a - b), 'lines keep their order');
      assert.equal(data.length + dropped, LINES, 'received + dropped = printed');
      assert.equal(texts.at(-1), 'exited 0', 'the result line is never dropped');
      assert.equal(cmds.at(-1)!.type, 'success');
      return { data: data.length, texts };
    };
    for (const f of await Promise.all(fast)) account(f);
    slow.socket.resume();
    const got: Cmd[] = [];
    for (;;) {
      const f = await slow.frame();
      if (!f) break;
      got.push(decodeCmd(f.subarray(8)));
    }
    const { data, texts } = account(got);
    assert.ok(data < LINES, `the slow observer did not get all ${LINES} lines (${data})`);
    assert.ok(texts.some((t) => /^builder: \d+ console lines dropped/.test(t)), 'the drop is reported');
  });
});

describe('state import and the inspector', () => {
  test('--import-state reads an original state file: schedule, queues and dropped platforms', async () => {
    const fxa = await startFixture();
    const file = path.join(fxa.dir, 'original-state');
    await writeFile(file, await vec('state'));
    await fxa.restart({ importState: file });
    try {
      const info = ((await clientCall(fxa.port, { type: 'info' }))[0] as Extract<Cmd, { type: 'info-reply' }>).info;
      assert.deepEqual(info.schedule.map((s) => s.job.name).sort(), ['albatross-debian', 'hello-job', 'once', 'solo5-hvt']);
      assert.deepEqual(info.droppedPlatforms, ['freebsd-13']);
      const test = info.queues.find((q) => q.platform === 'test');
      assert.deepEqual(test?.jobs.map((j) => j.name), ['hello-job', 'solo5-hvt']);
      assert.ok(info.queues.some((q) => q.platform === 'debian-12'));
      assert.equal(fxa.server.imported?.schedule, 4);
    } finally {
      await fxa.close();
    }
  });

  test('--inspect sends the actors of job runs to a Stately inspector over WebSocket', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    const messages: any[] = [];
    wss.on('connection', (ws) => ws.on('message', (m) => messages.push(JSON.parse(String(m)))));
    const port = (wss.address() as net.AddressInfo).port;
    const inspector = createWebSocketInspector({ url: `ws://127.0.0.1:${port}` });
    const fxi = await startFixture({ inspect: inspector.inspect as any });
    try {
      const w = await workerRequest(fxi.port, 'insp');
      await outcome(fxi.port, { type: 'schedule', period: 'never', job: { type: 'script', name: 'seen', script: 'true', platform: 'insp' } });
      const js = await w.job();
      await w.sock.send({ type: 'job-finished', uuid: js.uuid, result: { type: 'exited', code: 0 }, files: [] });
      await w.sock.closed;
      for (let i = 0; i < 100 && !messages.some((m) => JSON.stringify(m).includes('"done"')); i++) await new Promise((r) => setTimeout(r, 50));
      const text = JSON.stringify(messages);
      assert.ok(text.includes('job-run'), 'the job-run machine is announced');
      assert.ok(text.includes('"uploading"') && text.includes('"done"'), 'its states are sent');
    } finally {
      inspector.stop();
      await fxi.close();
      wss.close();
    }
  });
});
