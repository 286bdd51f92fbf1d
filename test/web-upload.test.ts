import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { destroyPool } from '../src/pool/pool.ts';
import { decodeExec, encodeExec } from '../src/protocol/exec-codec.ts';
import { uuidToString } from '../src/protocol/uuid.ts';
import { UserStore } from '../src/web/users.ts';
import { startWebServer, type WebServer } from '../src/web/web-server.ts';
import { basic, http, inputFiles, makeExec, tempEnv, type TempEnv } from './helpers/web-fixtures.ts';

const sha = (s: string | Uint8Array) => createHash('sha256').update(s).digest('hex');
let env: TempEnv;
let web: WebServer;
let url: string;
const admin = basic('admin', 'secret');

test.before(async () => {
  env = await tempEnv();
  const users = new UserStore(env.root);
  await users.add('admin', 'secret');
  await users.add('robot', 'beep', true);
  await users.grant('robot', 'allowed');
  web = await startWebServer({ host: '127.0.0.1', port: 0, dataDir: env.dir, root: env.root, maxUploadBytes: 64 * 1024, log: () => undefined });
  url = web.address.url;
});

test.after(async () => {
  await web.close();
  await env.cleanup();
  await destroyPool();
});

const upload = (body: Uint8Array, auth?: string) =>
  http(`${url}/upload`, { method: 'POST', body, headers: { 'Content-Type': 'application/octet-stream', ...(auth ? { Authorization: auth } : {}) } });

test('401 without or with wrong credentials, with the builder-web realm', async () => {
  const body = encodeExec(makeExec({ files: { 'bin/a': 'a' } }));
  for (const auth of [undefined, basic('admin', 'wrong'), basic('nobody', 'secret'), 'Bearer xyz']) {
    const r = await upload(body, auth);
    assert.equal(r.status, 401, String(auth));
    assert.equal(r.headers['www-authenticate'], 'Basic realm="builder-web"');
  }
});

test('201 on success, then the build is on / , the job page and the build page (JSON)', async () => {
  const exec = makeExec({ job: 'unikernel', files: { 'bin/u.hvt': 'UNIKERNEL', ...inputFiles() } });
  const r = await upload(encodeExec(exec), admin);
  assert.equal(r.status, 201);
  assert.equal(r.body.length, 0);
  const uuid = uuidToString(exec.uuid);
  const json = { Accept: 'application/json' };
  const all = JSON.parse((await http(`${url}/all-builds`, { headers: json })).body.toString());
  const job = all.sections.flatMap((s: { jobs: { name: string; latest: { uuid: string }[] }[] }) => s.jobs).find((j: { name: string }) => j.name === 'unikernel');
  assert.equal(job.latest[0].uuid, uuid);
  const page = JSON.parse((await http(`${url}/job/unikernel`, { headers: json })).body.toString());
  assert.equal(page.binaries[0].sha256, sha('UNIKERNEL'));
  const build = JSON.parse((await http(`${url}/job/unikernel/build/${uuid}`, { headers: json })).body.toString());
  assert.equal(build.build.mainBinary.path, 'bin/u.hvt');
  const html = (await http(`${url}/job/unikernel/build/${uuid}`)).body.toString();
  assert.match(html, new RegExp(sha('UNIKERNEL')));
});

test('409 for a known uuid, 400 for a body that does not decode, 413 above the limit', async () => {
  const exec = makeExec({ job: 'dup', files: { 'bin/d': 'd' } });
  assert.equal((await upload(encodeExec(exec), admin)).status, 201);
  const again = await upload(encodeExec(exec), admin);
  assert.equal(again.status, 409);
  const bad = await upload(new Uint8Array([0x30, 0x03, 0x02, 0x01]), admin);
  assert.equal(bad.status, 400);
  assert.match(bad.body.toString(), /not a valid Exec/);
  const trailing = await upload(new Uint8Array([...encodeExec(makeExec()), 0]), admin);
  assert.equal(trailing.status, 400);
  const big = makeExec({ files: { 'bin/big': new Uint8Array(100 * 1024) } });
  assert.equal((await upload(encodeExec(big), admin)).status, 413);
  // without a Content-Length: the server counts while streaming
  const chunked = await http(`${url}/upload`, {
    method: 'POST',
    headers: { Authorization: admin, 'Transfer-Encoding': 'chunked' },
    body: async function* () {
      const der = encodeExec(big);
      for (let at = 0; at < der.length; at += 4096) yield der.subarray(at, at + 4096);
    },
  });
  assert.equal(chunked.status, 413);
  assert.equal((await http(`${url}/job/dup`, { headers: { Accept: 'application/json' } })).status, 200);
});

test('restricted users upload only to existing jobs on their access list', async () => {
  const robot = basic('robot', 'beep');
  assert.equal((await upload(encodeExec(makeExec({ job: 'allowed', files: { 'bin/a': '1' } })), robot)).status, 403);
  assert.equal((await upload(encodeExec(makeExec({ job: 'allowed', files: { 'bin/a': '1' } })), admin)).status, 201);
  assert.equal((await upload(encodeExec(makeExec({ job: 'allowed', files: { 'bin/a': '2' } })), robot)).status, 201);
  assert.equal((await upload(encodeExec(makeExec({ job: 'unikernel', files: { 'bin/a': '3' } })), robot)).status, 403);
});

test('files, ETag and 304, main-binary, console, script, exec, all.tar.gz, latest, hash', async () => {
  const exec = makeExec({ job: 'files', files: { 'bin/f.bin': 'BINARY', 'docs/a b.txt': 'text', 'README.md': 'readme' }, console: ['one', 'two'] });
  assert.equal((await upload(encodeExec(exec), admin)).status, 201);
  const uuid = uuidToString(exec.uuid);
  const base = `${url}/job/files/build/${uuid}`;
  const f = await http(`${base}/f/bin/f.bin`);
  assert.equal(f.body.toString(), 'BINARY');
  assert.equal(f.headers.etag, `"${sha('BINARY')}"`);
  assert.equal((await http(`${base}/f/bin/f.bin`, { headers: { 'If-None-Match': `"${sha('BINARY')}"` } })).status, 304);
  assert.equal((await http(`${base}/f/docs/a%20b.txt`)).body.toString(), 'text');
  assert.equal((await http(`${base}/f/README.md`)).status, 404);
  const mb = await http(`${base}/main-binary`);
  assert.equal(mb.status, 302);
  assert.equal(mb.headers.location, `/job/files/build/${uuid}/f/bin/f.bin`);
  assert.equal((await http(`${base}/console`)).body.toString(), '0.000s:one\n1.500s:two\n');
  assert.equal((await http(`${base}/script`)).body.toString(), exec.job.script);
  const again = decodeExec(new Uint8Array((await http(`${base}/exec`)).body));
  assert.deepEqual({ ...again, files: [...again.files].sort((a, b) => a.path.localeCompare(b.path)) }, {
    ...exec,
    files: [...exec.files].sort((a, b) => a.path.localeCompare(b.path)),
  });
  const tgz = (await http(`${base}/all.tar.gz`)).body;
  const listing = execFileSync('tar', ['-tz'], { input: tgz }).toString().trim().split('\n').sort();
  assert.deepEqual(listing, [`files-${uuid}/bin/f.bin`, `files-${uuid}/docs/a b.txt`]);
  assert.ok(gunzipSync(tgz).includes(Buffer.from('BINARY')));
  const latest = await http(`${url}/job/files/build/latest/main-binary`);
  assert.equal(latest.status, 307);
  assert.equal(latest.headers.location, `/job/files/build/${uuid}/main-binary`);
  const found = await http(`${url}/hash?sha256=${sha('text').toUpperCase()}`);
  assert.equal(found.status, 302);
  assert.equal(found.headers.location, `/job/files/build/${uuid}`);
  assert.equal((await http(`${url}/hash?sha256=${sha('nothing')}`)).status, 404);
  assert.equal((await http(`${url}/hash?sha256=xyz`)).status, 400);
  assert.equal((await http(`${url}/job/files/build/00000000-0000-4000-8000-000000000000`)).status, 404);
  assert.equal((await http(`${url}/job/nope`)).status, 404);
});

test('compare shows environment, system and opam package differences', async () => {
  const a = makeExec({ job: 'cmp', files: { 'bin/c': 'c1', ...inputFiles() } });
  const b = makeExec({
    job: 'cmp',
    started: new Date(Date.UTC(2024, 0, 2)),
    files: {
      'bin/c': 'c2',
      ...inputFiles({
        env: 'PATH=/usr/local/bin:/usr/bin:/bin\nLANG=C\nTZ=UTC\n',
        pkgs: 'gcc=12.2.0-14\nmake=4.3-4.2\npkgconf-1.8.1\n',
        opam: 'installed: ["ocaml.4.14.1" "dune.3.8.0" "fmt.0.9.0"]\n',
      }),
    },
  });
  for (const e of [a, b]) assert.equal((await upload(encodeExec(e), admin)).status, 201);
  const r = await http(`${url}/compare/${uuidToString(a.uuid)}/${uuidToString(b.uuid)}`, { headers: { Accept: 'application/json' } });
  const d = JSON.parse(r.body.toString());
  assert.deepEqual(d.environment, {
    added: [{ name: 'TZ', value: 'UTC' }],
    removed: [{ name: 'HOME', value: '/root' }],
    changed: [{ name: 'PATH', from: '/usr/bin:/bin', to: '/usr/local/bin:/usr/bin:/bin' }],
  });
  assert.deepEqual(d.systemPackages, {
    added: [{ name: 'pkgconf', value: '1.8.1' }],
    removed: [{ name: 'libc6', value: '2.36-9' }],
    changed: [{ name: 'make', from: '4.3-4.1', to: '4.3-4.2' }],
  });
  assert.deepEqual(d.opamPackages, {
    added: [{ name: 'fmt', value: '0.9.0' }],
    removed: [{ name: 'mirage', value: '4.4.0' }],
    changed: [{ name: 'dune', from: '3.7.0', to: '3.8.0' }],
  });
  const html = (await http(`${url}/compare/${uuidToString(a.uuid)}/${uuidToString(b.uuid)}`)).body.toString();
  assert.match(html, /1 Environment variables changed/);
});
