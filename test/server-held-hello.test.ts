// A client that sends its command in the same write as its hello (as ours does) gets the ServerHello
// and the reply in one write; a client that waits for the ServerHello before sending its command (as
// the original does) gets it at once. The bytes are the same either way.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { encodeCmd } from '../src/protocol/cmd-codec.ts';
import { frame } from '../src/protocol/framing.ts';
import type { Cmd } from '../src/protocol/types.ts';
import { clientCall, startFixture } from './helpers/server-fixture.ts';

const bytes = (...cmds: Cmd[]) => Buffer.concat(cmds.map((c) => frame(encodeCmd(c))));
const hello: Cmd = { type: 'client-hello', kind: 'client', version: 13 };

/** Sends `data` in one write and returns every chunk the server sent until it closed. */
function exchange(port: number, data: Buffer): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const c = net.connect(port, '127.0.0.1', () => c.write(data));
    c.on('data', (d: Buffer) => chunks.push(d));
    c.on('error', reject);
    c.on('end', () => {
      c.destroy();
      resolve(chunks);
    });
  });
}

test('hello and command in one write: ServerHello and the reply come back in one write', async () => {
  const fx = await startFixture();
  try {
    const schedule: Cmd = { type: 'schedule', period: 'daily', job: { type: 'script', name: 'one-write', script: 'true' } };
    const ok = await exchange(fx.port, bytes(hello, schedule));
    assert.deepEqual(ok, [bytes({ type: 'server-hello' }, { type: 'success' })]);
    // a failing command too: the same name again
    const failed = Buffer.concat(await exchange(fx.port, bytes(hello, schedule)));
    assert.deepEqual(failed, bytes({ type: 'server-hello' }, { type: 'failure', message: 'job name already used' }));
    // info: the ServerHello leads the InfoReply, Success follows
    const info = Buffer.concat(await exchange(fx.port, bytes(hello, { type: 'info' })));
    assert.ok(info.subarray(0, 12).equals(bytes({ type: 'server-hello' })));
    assert.ok(info.subarray(info.length - 12).equals(bytes({ type: 'success' })));
    // observe of an unknown run: ServerHello, then Failure
    const observe = Buffer.concat(await exchange(fx.port, bytes(hello, { type: 'observe', uuid: new Uint8Array(16) })));
    assert.ok(observe.subarray(0, 12).equals(bytes({ type: 'server-hello' })));
    assert.ok(observe.length > 12);
  } finally {
    await fx.close();
  }
});

test('a client that waits for the ServerHello before sending its command gets it at once', async () => {
  const fx = await startFixture();
  try {
    // clientCall sends the command only once the ServerHello came
    const replies = await clientCall(fx.port, { type: 'schedule', period: 'daily', job: { type: 'script', name: 'two-writes', script: 'true' } });
    assert.deepEqual(replies, [{ type: 'success' }]);
  } finally {
    await fx.close();
  }
});
