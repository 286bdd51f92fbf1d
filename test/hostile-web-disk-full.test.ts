// Issue 15.11: uploads to the web on a full disk. The spool, the artifacts or the store on a full file
// system (a small tmpfs): POST /upload and the manual binary upload answer 507 with one line saying the
// disk is full, leave no spool file, no build record and no artifact of theirs behind; once space is
// back the same uploads are stored, without a restart.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { destroyPool } from '../src/pool/pool.ts';
import { encodeExec } from '../src/protocol/exec-codec.ts';
import { uuidToString } from '../src/protocol/uuid.ts';
import { openLmdbStore, type LmdbStore } from '../src/store/lmdb-store.ts';
import { UserStore } from '../src/web/users.ts';
import { startWebServer, type WebServer } from '../src/web/web-server.ts';
import { basic, http, makeExec } from './helpers/web-fixtures.ts';
import { fillUp, mountSmall } from './helpers/small-disk.ts';

const admin = basic('admin', 'secret');
const ONE_LINE = /^disk full: the upload was not stored \([^\n]*\); free space under the data directory and retry\n$/;

// Lazily: under tsx, the hashing threads' esbuild helper process is spawned after the store opened
// and inherits its file descriptor (a test-only holder; the bundle has no such process).
const umount = (dir: string[]) => execFileSync('umount', ['-l', ...dir]);

/** Every file under dir (relative paths, sorted); [] when dir does not exist. */
async function listing(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name).slice(dir.length + 1))
      .sort();
  } catch {
    return [];
  }
}

interface Setup {
  web: WebServer;
  url: string;
  store: LmdbStore;
  dataDir: string;
  close(): Promise<void>;
}

async function setup(dataDir: string, lmdbDir = dataDir): Promise<Setup> {
  const store = await openLmdbStore(lmdbDir);
  await new UserStore(store.root).add('admin', 'secret');
  const web = await startWebServer({ host: '127.0.0.1', port: 0, dataDir, root: store.root, log: () => undefined });
  return {
    web,
    url: web.address.url,
    store,
    dataDir,
    async close() {
      await web.close();
      await store.close();
    },
  };
}

const upload = (s: Setup, body: Uint8Array, json = false) =>
  http(`${s.url}/upload`, {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'application/octet-stream', Authorization: admin, ...(json ? { Accept: 'application/json' } : {}) },
  });

const uploadBinary = (s: Setup, job: string, body: Uint8Array) =>
  http(`${s.url}/job/${job}/platform/debian-12/upload?binary_name=${job}.hvt`, { method: 'POST', body, headers: { 'Content-Type': 'application/octet-stream', Authorization: admin } });

/** A failed upload kept nothing: no record, no spool, the artifacts as they were. */
async function nothingKept(s: Setup, uuid: string | undefined, artifactsBefore: string[]): Promise<void> {
  if (uuid) assert.equal(s.web.store.build(uuid), undefined, 'no build record');
  assert.deepEqual(await listing(join(s.dataDir, '_tmp')), [], 'no spool file left');
  assert.deepEqual(await listing(join(s.dataDir, '_artifacts')), artifactsBefore, 'no artifact of the failed upload left');
}

test.after(() => destroyPool());

test('the whole data directory on a full disk: 507 with one line, nothing half stored; space back, uploads work', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'builder-web-full-'));
  const skip = mountSmall(dataDir);
  if (skip) {
    await rm(dataDir, { recursive: true, force: true });
    return t.skip(skip);
  }
  const s = await setup(dataDir);
  try {
    assert.equal((await upload(s, encodeExec(makeExec({ job: 'full', files: { 'bin/full.hvt': 'first' } })))).status, 201);
    const before = await listing(join(dataDir, '_artifacts'));
    const binariesBefore = s.web.store.jobBuilds('full', 'debian-12').length;
    await fillUp(join(dataDir, 'filler'));

    const exec = makeExec({ job: 'full', files: { 'bin/full.hvt': randomBytes(300 * 1024) } });
    const r = await upload(s, encodeExec(exec));
    assert.equal(r.status, 507);
    assert.match(r.body.toString(), ONE_LINE);
    await nothingKept(s, uuidToString(exec.uuid), before);
    const j = await upload(s, encodeExec(exec), true);
    assert.equal(j.status, 507);
    assert.equal(JSON.parse(j.body.toString()).error, 'ERR_WEB_DISK_FULL');

    const b = await uploadBinary(s, 'full', randomBytes(300 * 1024));
    assert.equal(b.status, 507);
    assert.match(b.body.toString(), ONE_LINE);
    await nothingKept(s, undefined, before);
    assert.equal(s.web.store.jobBuilds('full', 'debian-12').length, binariesBefore, 'no build recorded by the binary upload');

    await rm(join(dataDir, 'filler'));
    assert.equal((await upload(s, encodeExec(exec))).status, 201);
    assert.ok(s.web.store.build(uuidToString(exec.uuid)));
    assert.equal((await uploadBinary(s, 'full', randomBytes(300 * 1024))).status, 201);
    assert.equal(s.web.store.jobBuilds('full', 'debian-12').length, binariesBefore + 2);
    assert.deepEqual(await listing(join(dataDir, '_tmp')), []);
  } finally {
    await s.close().catch(() => {});
    umount([dataDir]);
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('artifacts on a full disk after some are written: 507, the ones written go again', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'builder-web-full-'));
  const artifacts = join(dataDir, '_artifacts');
  await mkdir(artifacts);
  const skip = mountSmall(artifacts);
  if (skip) {
    await rm(dataDir, { recursive: true, force: true });
    return t.skip(skip);
  }
  const s = await setup(dataDir);
  try {
    // 128 KiB left: the first artifact fits, the second does not
    await writeFile(join(artifacts, 'reserve'), Buffer.alloc(128 * 1024));
    await fillUp(join(artifacts, 'filler'));
    await rm(join(artifacts, 'reserve'));
    const before = await listing(artifacts);
    const exec = makeExec({ job: 'parts', files: { 'a-small': randomBytes(60 * 1024), 'bin/parts.hvt': randomBytes(400 * 1024) } });
    const r = await upload(s, encodeExec(exec));
    assert.equal(r.status, 507);
    assert.match(r.body.toString(), ONE_LINE);
    await nothingKept(s, uuidToString(exec.uuid), before);

    await rm(join(artifacts, 'filler'));
    assert.equal((await upload(s, encodeExec(exec))).status, 201);
    const build = s.web.store.build(uuidToString(exec.uuid))!;
    assert.equal(build.artifacts.length, 2);
    assert.equal((await http(`${s.url}/job/parts/build/${build.uuid}/f/a-small`)).body.length, 60 * 1024);
  } finally {
    await s.close().catch(() => {});
    umount([artifacts]);
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('the store on a full disk: 507, the artifacts written for the build go again; space back, it is stored', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'builder-web-full-'));
  const lmdbDir = await mkdtemp(join(tmpdir(), 'builder-web-lmdb-'));
  const skip = mountSmall(lmdbDir);
  if (skip) {
    await rm(dataDir, { recursive: true, force: true });
    await rm(lmdbDir, { recursive: true, force: true });
    return t.skip(skip);
  }
  const s = await setup(dataDir, lmdbDir);
  try {
    assert.equal((await upload(s, encodeExec(makeExec({ job: 'meta', files: { 'bin/meta.hvt': 'first' } })))).status, 201);
    const before = await listing(join(dataDir, '_artifacts'));
    await fillUp(join(lmdbDir, 'filler'));
    // a large README goes into the job's record: the store needs pages the full disk does not have
    const exec = makeExec({ job: 'meta', files: { 'README.md': `# meta\n\n${'words '.repeat(100_000)}\n`, 'bin/meta.hvt': randomBytes(50 * 1024) } });
    const r = await upload(s, encodeExec(exec));
    assert.equal(r.status, 507);
    assert.match(r.body.toString(), ONE_LINE);
    await nothingKept(s, uuidToString(exec.uuid), before);

    await rm(join(lmdbDir, 'filler'));
    assert.equal((await upload(s, encodeExec(exec))).status, 201);
    assert.ok(s.web.store.build(uuidToString(exec.uuid)));
  } finally {
    await s.close().catch(() => {});
    umount([lmdbDir]);
    await rm(dataDir, { recursive: true, force: true });
    await rm(lmdbDir, { recursive: true, force: true });
  }
});
