// Issue 15.4 and 15.6: uploads are streamed, not held. The uploader's right to the job is checked from the
// request line and the first bytes of the body, before the rest is read; uploads in flight are bounded;
// artifact paths that are absolute, climb out with `..` or carry NUL/control characters are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { destroyPool } from '../src/pool/pool.ts';
import { encodeExec } from '../src/protocol/exec-codec.ts';
import { uuidToString } from '../src/protocol/uuid.ts';
import { UserStore } from '../src/web/users.ts';
import { startWebServer, type WebServer } from '../src/web/web-server.ts';
import { basic, http, makeExec, tempEnv, type HttpAnswer, type TempEnv } from './helpers/web-fixtures.ts';

let env: TempEnv;
let web: WebServer;
let url: string;
const admin = basic('admin', 'secret');
const robot = basic('robot', 'beep');
const MAX_UPLOADS = 2;

test.before(async () => {
  env = await tempEnv();
  const users = new UserStore(env.root);
  await users.add('admin', 'secret');
  await users.add('robot', 'beep', true);
  await users.grant('robot', 'allowed');
  web = await startWebServer({ host: '127.0.0.1', port: 0, dataDir: env.dir, root: env.root, maxConcurrentUploads: MAX_UPLOADS, log: () => undefined });
  url = web.address.url;
});

test.after(async () => {
  await web.close();
  await env.cleanup();
  await destroyPool();
});

const upload = (body: Uint8Array, auth: string, query = '') =>
  http(`${url}/upload${query}`, { method: 'POST', body, headers: { 'Content-Type': 'application/octet-stream', Authorization: auth } });

const spoolFiles = async () => (await readdir(join(env.dir, '_tmp')).catch(() => [] as string[])).filter((n) => n.startsWith('upload-'));

/**
 * An upload whose body is sent in two parts: `head` bytes at once, the rest only when `release()` is called.
 * `answered` tells whether the server replied before the rest was sent.
 */
function heldUpload(der: Uint8Array, head: number, auth: string, query = '') {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let restSent = false;
  let answeredEarly = false;
  const answer: Promise<HttpAnswer> = http(`${url}/upload${query}`, {
    method: 'POST',
    headers: { Authorization: auth, 'Content-Length': String(der.length) },
    body: async function* () {
      yield der.subarray(0, head); // even empty: the write sends the request line and headers
      await gate;
      restSent = true;
      yield der.subarray(head);
    },
  }).then((a) => {
    answeredEarly = !restSent;
    release();
    return a;
  });
  return { answer, release, answeredEarly: () => answeredEarly };
}

test('a restricted user is refused with 403 from the first bytes of the body, before the rest is read', async () => {
  const der = encodeExec(makeExec({ job: 'not-on-the-list', files: { 'bin/big': new Uint8Array(4 * 1024 * 1024) } }));
  const held = heldUpload(der, 200, robot);
  const a = await held.answer;
  assert.equal(a.status, 403);
  assert.match(a.body.toString(), /robot may not upload to job not-on-the-list/);
  assert.ok(held.answeredEarly(), 'the answer came before the body was sent');
  // named on the request line: refused before a single body byte
  const named = heldUpload(der, 0, robot, '?job=not-on-the-list');
  assert.equal((await named.answer).status, 403);
  assert.ok(named.answeredEarly());
  assert.deepEqual(await spoolFiles(), []);
  // a job on the list is accepted once it exists; ?job= must agree with the body
  assert.equal((await upload(encodeExec(makeExec({ job: 'allowed', files: { 'bin/a': '1' } })), admin)).status, 201);
  assert.equal((await upload(encodeExec(makeExec({ job: 'allowed', files: { 'bin/a': '2' } })), robot, '?job=allowed')).status, 201);
  const liar = await upload(encodeExec(makeExec({ job: 'not-on-the-list', files: { 'bin/a': '3' } })), admin, '?job=allowed');
  assert.equal(liar.status, 400);
});

test('uploads in flight are bounded: one more gets 503 with Retry-After, the held ones then complete', async () => {
  const held = Array.from({ length: MAX_UPLOADS }, (_, i) =>
    heldUpload(encodeExec(makeExec({ job: 'bounded', files: { 'bin/b': `held ${i}`, data: new Uint8Array(256 * 1024) } })), 1000, admin),
  );
  while ((await spoolFiles()).length < MAX_UPLOADS) await tick();
  const over = await upload(encodeExec(makeExec({ job: 'bounded', files: { 'bin/b': 'over' } })), admin);
  assert.equal(over.status, 503);
  assert.match(String(over.headers['retry-after']), /^[1-9][0-9]*$/);
  for (const h of held) h.release();
  for (const h of held) assert.equal((await h.answer).status, 201);
  assert.equal((await upload(encodeExec(makeExec({ job: 'bounded', files: { 'bin/b': 'after' } })), admin)).status, 201);
  assert.deepEqual(await spoolFiles(), []);
});

test('a large artifact is stored from the spool file: same bytes and hash, console and metadata intact', async () => {
  const big = Buffer.alloc(24 * 1024 * 1024 + 7);
  for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i, i);
  const exec = makeExec({ job: 'large', files: { 'bin/large.hvt': big, 'README.md': '# Large\n\nA big one.\n' }, console: ['a', 'b', 'c'] });
  assert.equal((await upload(encodeExec(exec), admin)).status, 201);
  const base = `${url}/job/large/build/${uuidToString(exec.uuid)}`;
  const f = await http(`${base}/f/bin/large.hvt`);
  assert.equal(f.body.length, big.length);
  assert.equal(f.headers.etag, `"${createHash('sha256').update(big).digest('hex')}"`);
  assert.ok(f.body.equals(big));
  assert.equal((await http(`${base}/console`)).body.toString(), '0.000s:a\n1.500s:b\n3.000s:c\n');
  const job = JSON.parse((await http(`${url}/job/large`, { headers: { Accept: 'application/json' } })).body.toString());
  assert.match(JSON.stringify(job), /A big one/);
  assert.deepEqual(await spoolFiles(), []);
});

test('artifact paths that are absolute, climb out, or hold NUL or control characters are refused at upload', async () => {
  const bad = ['../../x', '//etc/passwd', '/etc/passwd', 'a/../../b', 'ok/..', 'a\0b', 'bell\x07', 'line\nbreak', 'back\\slash', 'a//b', './a'];
  for (const path of bad) {
    const r = await upload(encodeExec(makeExec({ job: 'paths', files: { 'bin/fine': 'ok', [path]: 'evil' } })), admin);
    assert.equal(r.status, 400, JSON.stringify(path));
    assert.match(r.body.toString(), /artifact path .* refused/);
  }
  for (const job of ['../up', 'a/b', '..', 'nul\0job']) {
    const r = await upload(encodeExec(makeExec({ job, files: { 'bin/fine': 'ok' } })), admin);
    assert.equal(r.status, 400, JSON.stringify(job));
    assert.match(r.body.toString(), /job name .* refused/);
  }
  assert.equal((await http(`${url}/job/paths`)).status, 404);
  assert.equal((await upload(encodeExec(makeExec({ job: 'paths', files: { 'bin/fine': 'ok', 'sub dir/ü.txt': 'u' } })), admin)).status, 201);
  assert.deepEqual(await spoolFiles(), []);
});

test('truncated, trailing and malformed bodies: 400, nothing stored, no spool left', async () => {
  const der = encodeExec(makeExec({ job: 'broken', files: { 'bin/x': 'x'.repeat(5000) } }));
  for (const body of [der.subarray(0, 3), der.subarray(0, 100), der.subarray(0, der.length - 1), Buffer.concat([der, Buffer.from([0])]), new Uint8Array(0), new Uint8Array([0xa1, 0])]) {
    const r = await upload(body, admin);
    assert.equal(r.status, 400, `${body.length} bytes: ${r.body}`);
  }
  assert.equal((await http(`${url}/job/broken`)).status, 404);
  assert.deepEqual(await spoolFiles(), []);
});
