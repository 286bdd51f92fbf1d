// Faults at start and stop (issue 15 points 8 and 10): a taken port of any listener, a missing
// --import-state file and a bad --upload URL each give one line naming the flag and exit 2, with no
// listener left reporting it listens; SIGTERM stops a server whose --inspect WebSocket has nobody; a
// second server on a data directory another one writes is refused, and the first loses nothing.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { tempDir } from './helpers/server-fixture.ts';
import { repoRoot } from './helpers/server-process.ts';

const bin = path.join(repoRoot, 'bin', 'builder.mjs');

async function taken(): Promise<{ port: number; close(): void }> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return { port: (s.address() as net.AddressInfo).port, close: () => s.close() };
}

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${stderr}`);
  assert.doesNotMatch(stderr, /\bat .*:\d+:\d+|node:net|usage:/);
  return lines[0]!;
}

test('a taken builder, web or 9P port: one line naming the address and the flag, exit 2, never "listening"', async () => {
  const busy = await taken();
  try {
    const cases: [string[], RegExp][] = [
      [['--port', String(busy.port)], new RegExp(`builder port 127\\.0\\.0\\.1:${busy.port} is in use; choose another with --port`)],
      [['--web', `127.0.0.1:${busy.port}`], new RegExp(`web address 127\\.0\\.0\\.1:${busy.port} is in use; .*--web ADDR .*--no-web`)],
      [['--9p', `127.0.0.1:${busy.port}`], new RegExp(`9P address 127\\.0\\.0\\.1:${busy.port} is in use; .*--9p ADDR .*--no-9p`)],
    ];
    for (const [flags, want] of cases) {
      const dir = await tempDir();
      const r = spawnSync(process.execPath, [bin, 'server', '--dir', dir, '--port', '0', '--web', '127.0.0.1:0', '--9p', '127.0.0.1:0', '--log-level', 'error', ...flags], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 2, r.stderr);
      assert.match(oneLine(r.stderr), want);
      const all = spawnSync(process.execPath, [bin, 'server', '--dir', dir, '--port', '0', '--web', '127.0.0.1:0', '--9p', '127.0.0.1:0', ...flags], { encoding: 'utf8', timeout: 60_000 });
      assert.doesNotMatch(all.stderr, /server:listening/, 'nothing reports listening before every listener is bound');
    }
    const run = spawnSync(process.execPath, [bin, 'run', '--dir', await tempDir(), '--port', '0', '--web', '127.0.0.1:0', '--9p', `127.0.0.1:${busy.port}`, '--no-sample'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 2, run.stderr);
    assert.match(oneLine(run.stderr), /9P address .* is in use; .*--9p ADDR .*--no-9p/);
  } finally {
    busy.close();
  }
});

test('a missing --import-state file and a bad --upload URL: one line naming the flag and the value, exit 2', async () => {
  const dir = await tempDir();
  const base = [bin, 'server', '--dir', dir, '--port', '0', '--no-web', '--no-9p'];
  const missing = spawnSync(process.execPath, [...base, '--import-state', path.join(dir, 'no-such-state')], { encoding: 'utf8' });
  assert.equal(missing.status, 2);
  assert.match(oneLine(missing.stderr), /--import-state: cannot read .*no-such-state: no such file/);
  for (const url of ['not a url', 'ftp://example.org/upload']) {
    const bad = spawnSync(process.execPath, [...base, '--upload', url], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.equal(oneLine(bad.stderr), `builder server: --upload: not an http:// or https:// URL: ${url}`);
  }
});

test('SIGTERM stops a server whose --inspect WebSocket has nobody listening', async () => {
  const dir = await tempDir();
  const nobody = await taken();
  nobody.close(); // a port just freed: nothing listens there
  const child = spawn(process.execPath, [bin, 'server', '--dir', dir, '--port', '0', '--no-web', '--no-9p', '--inspect', `ws://127.0.0.1:${nobody.port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise<void>((resolve) => child.stderr.on('data', (d) => ((err += d), /server:listening/.test(err) && resolve())));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exit, 0);
});

test('a second server on the data directory of a running one: one line, exit 2; the first goes on and loses nothing', async () => {
  const dir = await tempDir();
  const first = spawn(process.execPath, [bin, 'server', '--dir', dir, '--port', '0', '--no-web', '--no-9p'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise<void>((resolve) => first.stderr.on('data', (d) => ((err += d), /server:listening/.test(err) && resolve())));
  try {
    const port = Number(/server:listening .*port=(\d+)/.exec(err)?.[1]);
    const script = path.join(dir, 'job.sh');
    writeFileSync(script, 'true\n');
    const scheduled = spawnSync(process.execPath, [bin, 'schedule', 'kept', 'linux', script, '-r', `127.0.0.1:${port}`], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(scheduled.status, 0, scheduled.stderr);
    const second = spawnSync(process.execPath, [bin, 'server', '--dir', dir, '--port', '0', '--no-web', '--no-9p'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(second.status, 2, second.stderr);
    assert.match(oneLine(second.stderr), /another builder server is writing the store in .*: one server per data directory/);
    // the first still answers, with its store whole
    const info = spawnSync(process.execPath, [bin, 'info', '-r', `127.0.0.1:${port}`], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(info.status, 0, info.stderr);
    assert.match(info.stdout, /\bkept\b/);
  } finally {
    const exit = new Promise<number | null>((resolve) => first.once('exit', (code) => resolve(code)));
    first.kill('SIGTERM');
    assert.equal(await exit, 0);
  }
});
