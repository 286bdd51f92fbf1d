import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { destroyPool } from '../src/pool/pool.ts';
import { buildStoreFor } from '../src/web/build-store.ts';
import { consoleText, decodeConsole } from '../src/web/console-blob.ts';
import { recordBuild } from '../src/web/record-build.ts';
import { makeExec, inputFiles, tempEnv } from './helpers/web-fixtures.ts';

const sha = (s: string | Uint8Array) => createHash('sha256').update(s).digest('hex');

test.after(() => destroyPool());

test('an upload is stored: artifacts once per hash, main binary, input id, readme, console', async () => {
  const env = await tempEnv();
  try {
    const store = buildStoreFor(env.root, env.dir);
    const exec = makeExec({
      files: {
        'bin/hello.hvt': 'ELF binary',
        'copy-of-binary': 'ELF binary',
        'README.md': 'section: Unikernels\nA hello world.\n',
        'hello.build-hashes': 'abc',
        ...inputFiles(),
      },
      console: ['first', 'second', 'third'],
    });
    const b = await store.record(exec);
    assert.equal(b.mainBinary?.path, 'bin/hello.hvt');
    assert.equal(b.mainBinary?.sha256, sha('ELF binary'));
    assert.deepEqual(b.artifacts.map((a) => a.path).sort(), ['bin/hello.hvt', 'build-environment', 'copy-of-binary', 'opam-switch', 'system-packages']);
    const inputs = inputFiles();
    const expectedInput = createHash('sha256')
      .update(Buffer.concat(['opam-switch', 'build-environment', 'system-packages'].map((p) => Buffer.from(sha(inputs[p]!), 'hex'))))
      .digest('hex');
    assert.equal(b.inputId, expectedInput);
    assert.equal(store.job('hello')?.section, 'Unikernels');
    assert.match(store.job('hello')?.readme ?? '', /A hello world/);
    // the same content twice in one upload: one file on disk
    const dirFiles = await readdir(join(env.dir, '_artifacts', sha('ELF binary').slice(0, 2)));
    assert.deepEqual(dirFiles.filter((f) => f === sha('ELF binary')), [sha('ELF binary')]);
    assert.equal(await readFile(store.artifacts.path(sha('ELF binary')), 'utf8'), 'ELF binary');
    const text = consoleText(decodeConsole(await store.readBlob(b.console.sha256))).toString();
    assert.equal(text, '0.000s:first\n1.500s:second\n3.000s:third\n');
    await assert.rejects(store.record(exec), { code: 'ERR_WEB_DUPLICATE_BUILD', status: 409 });
  } finally {
    await env.cleanup();
  }
});

test('zero or several bin/ files: no main binary, a failed build', async () => {
  const env = await tempEnv();
  try {
    const store = buildStoreFor(env.root, env.dir);
    const none = await store.record(makeExec({ files: { 'out.txt': 'x' }, exitCode: 1 }));
    const two = await store.record(makeExec({ files: { 'bin/a': 'a', 'bin/b': 'b' } }));
    assert.equal(none.mainBinary, undefined);
    assert.equal(two.mainBinary, undefined);
    assert.deepEqual(store.failedBuilds(0, 10).map((b) => b.uuid).sort(), [none.uuid, two.uuid].sort());
    assert.equal(store.latestSuccessful('hello'), undefined);
  } finally {
    await env.cleanup();
  }
});

test('reproduced by: same input all, other inputs newest each; same input different output', async () => {
  const env = await tempEnv();
  try {
    const store = buildStoreFor(env.root, env.dir);
    const at = (h: number) => new Date(Date.UTC(2024, 0, 1, h));
    const a = await store.record(makeExec({ started: at(1), files: { 'bin/x': 'X', ...inputFiles() } }));
    const b = await store.record(makeExec({ started: at(2), files: { 'bin/x': 'X', ...inputFiles() } }));
    const c1 = await store.record(makeExec({ started: at(3), files: { 'bin/x': 'X', ...inputFiles({ env: 'A=1' }) } }));
    const c2 = await store.record(makeExec({ started: at(4), files: { 'bin/x': 'X', ...inputFiles({ env: 'A=1' }) } }));
    const d = await store.record(makeExec({ started: at(5), files: { 'bin/x': 'Y', ...inputFiles() } }));
    assert.deepEqual(store.reproducedBy(a).map((x) => x.uuid), [c2.uuid, b.uuid]);
    assert.deepEqual(store.sameInputDifferentOutput(a).map((x) => x.uuid), [d.uuid]);
    assert.deepEqual(store.sameInputDifferentOutput(c1), []);
    assert.equal(store.neighbours(b).previous?.uuid, a.uuid);
    assert.equal(store.neighbours(b).next?.uuid, c1.uuid);
    assert.equal(store.latestSuccessful('hello')?.uuid, d.uuid);
  } finally {
    await env.cleanup();
  }
});

test("the build page's comparisons: the nearest build with another main binary, failed and other-platform builds skipped", async () => {
  const env = await tempEnv();
  try {
    const store = buildStoreFor(env.root, env.dir);
    const at = (h: number) => new Date(Date.UTC(2024, 0, 1, h));
    const rec = (h: number, bin: string | null, platform = 'debian-12') =>
      store.record(makeExec({ started: at(h), platform, files: bin ? { 'bin/x': bin } : {}, ...(bin ? {} : { exitCode: 1 }) }));
    const x1 = await rec(1, 'X');
    await rec(2, null);
    const y1 = await rec(3, 'Y');
    const x2 = await rec(4, 'X');
    await rec(5, 'Z', 'freebsd-14');
    await rec(6, null);
    const x3 = await rec(7, 'X');
    const z = await rec(8, 'Z');
    await rec(9, null);
    const n = (b: typeof x1) => store.differentOutputNeighbours(b);
    assert.deepEqual([n(x1).previous, n(x1).next?.uuid], [undefined, y1.uuid]);
    assert.deepEqual([n(y1).previous?.uuid, n(y1).next?.uuid], [x1.uuid, x2.uuid]);
    // not the failed one at 6 nor the other platform's Z at 5, not x2 (the same binary): z
    assert.deepEqual([n(x3).previous?.uuid, n(x3).next?.uuid], [y1.uuid, z.uuid]);
    assert.deepEqual([n(z).previous?.uuid, n(z).next], [x3.uuid, undefined]);
    assert.equal(store.latestSuccessful('hello', 'debian-12')?.uuid, z.uuid);
  } finally {
    await env.cleanup();
  }
});

test('vacuum keeps hash look-ups and shared files, removes unshared ones', async () => {
  const env = await tempEnv();
  try {
    const store = buildStoreFor(env.root, env.dir);
    const at = (h: number) => new Date(Date.UTC(2024, 0, 1, h));
    const old = await store.record(makeExec({ started: at(1), files: { 'bin/x': 'old', shared: 'S' } }));
    const mid = await store.record(makeExec({ started: at(2), files: { 'bin/x': 'mid', shared: 'S' }, exitCode: 0 }));
    const fresh = await store.record(makeExec({ started: at(3), files: { 'bin/x': 'new', shared: 'S' } }));
    const removed = await store.vacuum({ kind: 'except-latest', keep: 1 });
    assert.deepEqual(removed.map((b) => b.uuid).sort(), [old.uuid, mid.uuid].sort());
    assert.deepEqual(store.jobBuilds('hello').map((b) => b.uuid), [fresh.uuid]);
    await assert.rejects(stat(store.artifacts.path(sha('old'))), { code: 'ENOENT' });
    assert.equal(await readFile(store.artifacts.path(sha('S')), 'utf8'), 'S');
    const hit = store.buildsWithHash(sha('old'));
    assert.equal(hit[0]?.build.uuid, old.uuid);
    assert.ok(hit[0]?.build.deleted);
    assert.equal(store.latestSuccessful('hello')?.uuid, fresh.uuid);
    // older-than on the rest, then except-latest-successful does nothing with fewer successes than asked
    assert.deepEqual(await store.vacuum({ kind: 'except-latest-successful', keep: 2 }), []);
    assert.equal((await store.vacuum({ kind: 'older-than', before: at(4).getTime() })).length, 1);
    assert.equal(store.latestSuccessful('hello'), undefined);
    await assert.rejects(stat(store.artifacts.path(sha('S'))), { code: 'ENOENT' });
  } finally {
    await env.cleanup();
  }
});

test('vacuum of more builds than one transaction holds: every one deleted, shared files kept', async () => {
  const env = await tempEnv();
  try {
    const store = buildStoreFor(env.root, env.dir);
    const n = 250; // more than two of vacuum's slices
    const builds = [];
    for (let i = 0; i < n; i++) {
      builds.push(await store.record(makeExec({ started: new Date(Date.UTC(2024, 0, 1, 0, i)), files: { 'bin/x': `build ${i}`, shared: 'S' }, exitCode: 0 })));
    }
    const removed = await store.vacuum({ kind: 'except-latest', keep: 1 });
    assert.equal(removed.length, n - 1);
    assert.deepEqual(store.jobBuilds('hello').map((b) => b.uuid), [builds[n - 1]!.uuid]);
    for (const i of [0, 99, 100, 199, 200, n - 2]) {
      await assert.rejects(stat(store.artifacts.path(sha(`build ${i}`))), { code: 'ENOENT' }, `build ${i}`);
      assert.ok(store.buildsWithHash(sha(`build ${i}`))[0]?.build.deleted, `build ${i} keeps its hash`);
    }
    assert.equal(await readFile(store.artifacts.path(sha('S')), 'utf8'), 'S');
    assert.equal(store.latestSuccessful('hello')?.uuid, builds[n - 1]!.uuid);
  } finally {
    await env.cleanup();
  }
});

test('recordBuild runs the upload hooks with builder-web arguments', async () => {
  const env = await tempEnv();
  try {
    const configDir = join(env.dir, 'etc');
    await mkdir(join(configDir, 'upload-hooks'), { recursive: true });
    const hook = join(configDir, 'upload-hooks', 'log.sh');
    await writeFile(hook, `#!/bin/sh\nprintf '%s\\n' "$@" > "${join(env.dir, 'hook-args')}"\n`);
    await chmod(hook, 0o755);
    await writeFile(join(configDir, 'upload-hooks', 'not-executable.sh'), '#!/bin/sh\nexit 3\n');
    const exec = makeExec({ files: { 'bin/hello.hvt': 'ELF' } });
    const { build, hooks, visualizations } = await recordBuild(exec, { root: env.root, dataDir: env.dir, configDir });
    const runs = await hooks;
    // the visualizations write into the data directory in the background: done before it goes
    await visualizations;
    assert.deepEqual(runs.map((r) => [r.hook, r.exitCode]), [[hook, 0]]);
    const args = (await readFile(join(env.dir, 'hook-args'), 'utf8')).trim().split('\n');
    assert.deepEqual(args, [
      '--build-time=20240101120000',
      `--sha256=${sha('ELF')}`,
      '--job=hello',
      `--uuid=${build.uuid}`,
      '--platform=debian-12',
      `--cache-dir=${join(env.dir, '_cache')}`,
      `--data-dir=${env.dir}`,
      '--main-binary-filepath=bin/hello.hvt',
      join(env.dir, '_artifacts', sha('ELF').slice(0, 2), sha('ELF')),
    ]);
    const failed = await recordBuild(makeExec({ files: {} }), { root: env.root, dataDir: env.dir, configDir });
    assert.deepEqual(await failed.hooks, []);
    await failed.visualizations;
  } finally {
    await env.cleanup();
  }
});
