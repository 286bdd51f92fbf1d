// Issue 15.2: 1,100 connections that send a hello and then nothing, against a server whose open-file
// limit is 1,024. The builder port's cap leaves descriptors for the web (which keeps answering), the
// silent connections are closed after --command-timeout, and then `info` and `schedule` work again.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { connect } from '../src/protocol/connect.ts';
import type { CmdSocket } from '../src/protocol/cmd-socket.ts';
import { clientCall, outcome, startFixture, tempDir } from './helpers/server-fixture.ts';
import { freePort, repoRoot, waitForPort } from './helpers/server-process.ts';

/** A connection that says hello and then nothing; resolves once the server answered or closed it. */
async function silent(port: number): Promise<{ sock: CmdSocket; answered: boolean }> {
  const sock = await connect('127.0.0.1', port);
  await sock.send({ type: 'client-hello', kind: 'client', version: 13 }).catch(() => {});
  const reply = await sock.next().catch(() => null);
  return { sock, answered: reply?.type === 'server-hello' };
}

test('1,100 hello-then-silent connections under a 1,024 open-file limit: the web answers, then info and schedule work', async () => {
  const dir = await tempDir();
  const port = await freePort();
  const web = await freePort();
  const child = spawn(
    'prlimit',
    ['--nofile=1024:1024', process.execPath, path.join(repoRoot, 'bin', 'builder.mjs'), 'server', '--dir', dir, '--port', String(port), '--web', `127.0.0.1:${web}`, '--no-9p', '--command-timeout', '3', '--max-connections-per-address', '5000', '--log-level', 'error'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  try {
    await waitForPort(port);
    await waitForPort(web);
    const attack = await Promise.all(Array.from({ length: 1100 }, () => silent(port)));
    const held = attack.filter((a) => a.answered);
    assert.ok(held.length > 0 && held.length <= 1024 - 256, `${held.length} silent connections held`);
    // the builder port is full now; the web still has descriptors
    const page = await fetch(`http://127.0.0.1:${web}/`);
    assert.equal(page.status, 200);
    await page.arrayBuffer();
    // every silent connection is closed by the server (none of them closes itself)
    await Promise.all(attack.map((a) => a.sock.closed));
    const info = await clientCall(port, { type: 'info' });
    assert.equal(info[0]!.type, 'info-reply');
    assert.equal((await outcome(port, { type: 'schedule', period: 'daily', job: { type: 'script', name: 'after-attack', script: 'true' } })).type, 'success');
    assert.equal(child.exitCode, null, err);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
});

test('a per-address connection limit: one more connection from the address is closed without an answer', async () => {
  const fx = await startFixture({ maxConnectionsPerAddress: 5, firstCommandTimeoutMs: 60_000 });
  try {
    const held = await Promise.all(Array.from({ length: 5 }, () => silent(fx.port)));
    assert.ok(held.every((h) => h.answered));
    const extra = await silent(fx.port);
    assert.equal(extra.answered, false);
    held[0]!.sock.destroy();
    await held[0]!.sock.closed;
    // a slot is free again once the server saw the close
    let again = await silent(fx.port);
    while (!again.answered) {
      await new Promise((r) => setTimeout(r, 20));
      again = await silent(fx.port);
    }
    for (const h of [...held, again]) h.sock.destroy();
  } finally {
    await fx.close();
  }
});

test('a worker that says hello and never asks for a job is disconnected', async () => {
  const fx = await startFixture({ firstCommandTimeoutMs: 200 });
  try {
    const sock = await connect('127.0.0.1', fx.port);
    await sock.send({ type: 'client-hello', kind: 'worker', version: 5 });
    assert.equal((await sock.next())?.type, 'server-hello');
    assert.equal(await sock.next().catch(() => null), null);
  } finally {
    await fx.close();
  }
});
