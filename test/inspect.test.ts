// `builder inspect` as a real process: the original builder-inspect's output, artifacts written
// byte for byte, escaping paths refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeExec, decodeExec } from '../src/protocol/exec-codec.ts';
import { encodeCmd } from '../src/protocol/cmd-codec.ts';
import { frame } from '../src/protocol/framing.ts';
import { loadManifest, readVector, vectorsDir } from './protocol-vectors-support.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function run(bin: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(root, 'bin', bin), ...args], { encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function withTmp<T>(f: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), 'builder-inspect-'));
  try {
    return await f(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// What app/inspect.ml prints for exec.der: "started at" + Ptime.to_rfc3339 (whole seconds, "-00:00"),
// the console lines in reverse wire order as "%dms: %S", the result, "stopped at"; then the script
// (Logs.app adds a newline after it).
const expectedConsole = [
  'started at 2024-01-02T03:04:05-00:00',
  '1234ms: "line with \\"quotes\\" and \\t tab"',
  '75ms: "hello"',
  '0ms: "started"',
  'exited 0',
  'stopped at 2024-02-29T23:59:59-00:00',
].join('\n') + '\n';
const expectedScript = 'echo hello; echo data > out.txt\n\n';
const expectedJob = 'hello-job on test\n'; // as the original builder-inspect --job

for (const bin of ['builder.mjs', 'builder-inspect.mjs']) {
  test(`${bin === 'builder.mjs' ? 'builder inspect' : 'builder-inspect'} --console --script --job --output DIR exec.der`, async () => {
    await withTmp(async (dir) => {
      const args = bin === 'builder.mjs' ? ['inspect'] : [];
      const out = path.join(dir, 'out');
      const r = await run(bin, [...args, '--console', '--script', '--job', '--output', out, path.join(vectorsDir, 'exec.der')]);
      assert.equal(r.stderr, '');
      assert.equal(r.code, 0);
      assert.equal(r.stdout, expectedConsole + expectedScript + expectedJob);
      const exec = loadManifest().vectors.find((v) => v.name === 'exec')!.value as { output: { path: string; data: string | { $hex: string } }[] };
      for (const f of exec.output) {
        const want = typeof f.data === 'string' ? Buffer.from(f.data, 'utf8') : Buffer.from(f.data.$hex, 'hex');
        assert.ok((await readFile(path.join(out, f.path))).equals(want), f.path);
      }
      assert.deepEqual((await readdir(out, { recursive: true })).sort(), ['bin', 'bin/hello.hvt', 'out.txt']);
    });
  });
}

test('the flags print independently, as the original does', async () => {
  const file = path.join(vectorsDir, 'exec.der');
  assert.equal((await run('builder.mjs', ['inspect', '--console', file])).stdout, expectedConsole);
  assert.equal((await run('builder-inspect.mjs', ['--script', file])).stdout, expectedScript);
  const empty = await run('builder.mjs', ['inspect', '--console', path.join(vectorsDir, 'exec_no_console_no_output.der')]);
  assert.equal(empty.stdout, 'started at 2024-01-02T03:04:07-00:00\nexited 3\nstopped at 2024-01-02T03:04:07-00:00\n');
});

test('artifact paths escaping DIR are refused and nothing is written', async () => {
  await withTmp(async (dir) => {
    const base = decodeExec(readVector({ file: 'exec.der' }));
    for (const bad of ['../escaped.txt', 'a/../../escaped.txt', '/tmp/absolute.txt', '.', '']) {
      const file = path.join(dir, 'full');
      await writeFile(file, encodeExec({ ...base, files: [{ path: 'good.txt', data: new Uint8Array([1]) }, { path: bad, data: new Uint8Array([2]) }] }));
      const out = path.join(dir, 'out');
      const r = await run('builder.mjs', ['inspect', '--output', out, file]);
      assert.equal(r.code, 1, bad);
      assert.match(r.stderr, /refusing artifact path/);
      assert.deepEqual(await readdir(dir), ['full'], `nothing written for ${JSON.stringify(bad)}`);
    }
  });
});

test('--json, state files, framed and bare commands, bad files', async () => {
  await withTmp(async (dir) => {
    const j = await run('builder.mjs', ['inspect', '--json', path.join(vectorsDir, 'exec.der')]);
    const parsed = JSON.parse(j.stdout) as { kind: string; value: { files: { data: unknown }[]; console: { delta: number }[]; started: string } };
    assert.equal(parsed.kind, 'exec');
    assert.deepEqual(parsed.value.files[1]!.data, { $hex: '7f454c4602010100fffe' });
    assert.equal(parsed.value.console[2]!.delta, 1234567890);
    assert.equal(parsed.value.started, '2024-01-02T03:04:05.678Z');

    const s = await run('builder.mjs', ['inspect', path.join(vectorsDir, 'state.der')]);
    assert.match(s.stdout, /^state with 7 items\ndropped platform freebsd-13\nschedule name hello-job on test next 2024-01-02T03:04:05-00:00, scheduled daily\n/);

    const framed = path.join(dir, 'framed');
    await writeFile(framed, frame(encodeCmd({ type: 'failure', message: 'job name already used' })));
    assert.equal((await run('builder.mjs', ['inspect', framed])).stdout, 'framed command: failure job name already used\n');
    assert.equal((await run('builder.mjs', ['inspect', path.join(vectorsDir, 'output.der')])).stdout, 'command: [f47ac10b-58cc-4372-a567-0e02b2c3d479] "hello"\n');
    const cj = JSON.parse((await run('builder.mjs', ['inspect', '--json', path.join(vectorsDir, 'framed.bin')])).stdout);
    assert.deepEqual(cj, { kind: 'cmd', value: { type: 'client-hello', kind: 'client', version: 13 } });

    const notExec = await run('builder.mjs', ['inspect', '--console', path.join(vectorsDir, 'state.der')]);
    assert.equal(notExec.code, 2);
    assert.match(notExec.stderr, /not a job result/);

    const bad = path.join(dir, 'bad');
    await writeFile(bad, Buffer.from('a0 05 30 03 0c 01 ff'.replace(/ /g, ''), 'hex'));
    const b = await run('builder.mjs', ['inspect', bad]);
    assert.equal(b.code, 1);
    assert.match(b.stderr, /ERR_PROTOCOL_/);
    const missing = await run('builder.mjs', ['inspect', path.join(dir, 'nope')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read/);
    const usage = await run('builder.mjs', ['inspect', '--frobnicate', bad]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /unknown option --frobnicate/);
  });
});
