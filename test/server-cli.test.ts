// `builder server` and its alias `builder-server` as a daemon: the original's flags, usage errors,
// JSON logs, a state import, and a clean stop on SIGTERM with everything kept.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import type { Cmd } from '../src/protocol/types.ts';
import { clientCall, tempDir } from './helpers/server-fixture.ts';
import { freePort, repoRoot, waitForPort } from './helpers/server-process.ts';

const alias = path.join(repoRoot, 'bin', 'builder-server.mjs');
const vectors = process.env.BUILDER_VECTORS_DIR ?? path.resolve(repoRoot, '..', 'shared', 'vectors');

test('--help lists the flags with their defaults; a bad flag is one line pointing to --help, exit 2', () => {
  const help = spawnSync(process.execPath, [alias, '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  for (const flag of ['--ip', '--port', '--dir', '--config-dir', '--upload', '--import-state', '--web', '--no-web', '--9p', '--no-9p', '--inspect', '--json-logs']) {
    assert.ok(help.stdout.includes(flag), `help mentions ${flag}`);
  }
  assert.match(help.stdout, /default 1234/);
  const bad = spawnSync(process.execPath, [alias, '--port', 'eighty'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--port: not a port number: eighty/);
  assert.equal(bad.stderr, 'builder server: --port: not a port number: eighty (see builder server --help)\n', 'one line, the usage only on request');
  const unknown = spawnSync(process.execPath, [alias, '--frobnicate'], { encoding: 'utf8' });
  assert.equal(unknown.status, 2);
});

test('builder-server with the original flags imports a state file, logs JSON and stops cleanly on SIGTERM', async () => {
  const dir = await tempDir();
  const port = await freePort();
  try {
    const child = spawn(
      process.execPath,
      [alias, '--ip', '127.0.0.1', '--port', String(port), '--dir', dir, '--config-dir', path.join(dir, 'etc'), '--no-web', '--no-9p', '--json-logs', '--import-state', path.join(vectors, 'state.der')],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let logs = '';
    child.stderr.on('data', (d) => (logs += d));
    await waitForPort(port);
    const info = (await clientCall(port, { type: 'info' }))[0] as Extract<Cmd, { type: 'info-reply' }>;
    assert.equal(info.info.schedule.length, 4);
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await exit, 0);
    const events = logs.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(events.some((e) => e.event === 'imported state file' && e.schedule === 4), logs);
    assert.ok(events.some((e) => e.event === 'server:listening' && e.port === port), logs);
    assert.ok(events.every((e) => typeof e.time === 'string' && typeof e.level === 'string'));
    // kept across the stop: the store holds the imported schedule
    const again = spawn(process.execPath, [alias, '--port', String(port), '--dir', dir, '--no-web', '--no-9p'], { stdio: 'ignore' });
    await waitForPort(port);
    const info2 = (await clientCall(port, { type: 'info' }))[0] as Extract<Cmd, { type: 'info-reply' }>;
    assert.deepEqual(info2.info.droppedPlatforms, ['freebsd-13']);
    assert.equal(info2.info.schedule.length, 4);
    const exit2 = new Promise((resolve) => again.once('exit', resolve));
    again.kill('SIGTERM');
    await exit2;
    assert.ok((await readFile(path.join(dir, 'lmdb', 'data.mdb'))).length > 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
