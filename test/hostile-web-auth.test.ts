// Issue 15.1: a flood of wrong passwords must not stall the web. Password checks are bounded (429 with
// Retry-After per address and when too many are in flight), scrypt runs off libuv's pool, successful
// checks are cached until the user changes, also when `builder user` changes it from another process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { destroyPool } from '../src/pool/pool.ts';
import { encodeExec } from '../src/protocol/exec-codec.ts';
import { uuidToString } from '../src/protocol/uuid.ts';
import { TestClock } from '../src/scheduler/clock.ts';
import { UserStore } from '../src/web/users.ts';
import { startWebServer, type WebServer } from '../src/web/web-server.ts';
import { runCli } from './helpers/cli-process.ts';
import { basic, http, makeExec, tempEnv, type TempEnv } from './helpers/web-fixtures.ts';

const WINDOW_MS = 60_000;
const FAILURES = 20;
const PENDING = 8;
let env: TempEnv;
let web: WebServer;
let url: string;
const clock = new TestClock(Date.UTC(2025, 0, 1));

test.before(async () => {
  env = await tempEnv();
  const users = new UserStore(env.root);
  await users.add('admin', 'secret');
  await users.add('bob', 'builder');
  web = await startWebServer({
    host: '127.0.0.1',
    port: 0,
    dataDir: env.dir,
    root: env.root,
    clock,
    auth: { failuresPerWindow: FAILURES, windowMs: WINDOW_MS, maxPending: PENDING },
    log: () => undefined,
  });
  url = web.address.url;
});

test.after(async () => {
  await web.close();
  await env.cleanup();
  await destroyPool();
});

const upload = (body: Uint8Array, auth: string) =>
  http(`${url}/upload`, { method: 'POST', body, headers: { 'Content-Type': 'application/octet-stream', Authorization: auth } });

test('300 parallel wrong passwords: bounded checks, 429 with Retry-After, and a console download still completes', async () => {
  const lines = Array.from({ length: 2000 }, (_, i) => `line ${i} ${'x'.repeat(60)}`);
  const exec = makeExec({ job: 'flood', files: { 'bin/a': 'A' }, console: lines });
  assert.equal((await upload(encodeExec(exec), basic('admin', 'secret'))).status, 201);
  const consoleUrl = `${url}/job/flood/build/${uuidToString(exec.uuid)}/console`;

  const body = encodeExec(makeExec({ job: 'flood', files: { 'bin/a': 'B' } }));
  const flood = Array.from({ length: 300 }, () => upload(body, basic('admin', 'wrong')));
  const download = http(consoleUrl);
  const [answers, got] = await Promise.all([Promise.all(flood), download]);

  assert.equal(got.status, 200);
  assert.equal(got.body.toString().split('\n').length, lines.length + 1);
  const by = (s: number) => answers.filter((a) => a.status === s);
  assert.equal(by(401).length + by(429).length, 300, `statuses: ${[...new Set(answers.map((a) => a.status))]}`);
  // every scrypt run ends in a 401: at most the per-address budget plus those already in flight when it ran out
  assert.ok(by(401).length <= FAILURES + PENDING, `${by(401).length} passwords checked`);
  assert.ok(by(429).length >= 300 - FAILURES - PENDING);
  for (const a of by(429)) assert.match(String(a.headers['retry-after']), /^[1-9][0-9]*$/);

  // failed checks spend the address's budget; then it is throttled for the window, even with a right
  // password not checked before (not cached)
  let tries = 0;
  while ((await upload(body, basic('admin', 'wrong'))).status === 401) assert.ok(++tries <= FAILURES);
  const during = await upload(body, basic('bob', 'builder'));
  assert.equal(during.status, 429);
  assert.ok(Number(during.headers['retry-after']) <= WINDOW_MS / 1000);
  clock.advance(WINDOW_MS + 1);
  assert.equal((await upload(body, basic('bob', 'builder'))).status, 201);
});

test('a verified password is cached: it passes while its address is throttled for others', async () => {
  clock.advance(WINDOW_MS + 1);
  const ok = basic('admin', 'secret');
  assert.equal((await upload(encodeExec(makeExec({ job: 'cached', files: { 'bin/c': '1' } })), ok)).status, 201);
  const wrong = await Promise.all(Array.from({ length: FAILURES + 5 }, () => upload(encodeExec(makeExec({ job: 'cached' })), basic('admin', 'nope'))));
  assert.ok(wrong.some((a) => a.status === 429));
  assert.equal((await upload(encodeExec(makeExec({ job: 'cached', files: { 'bin/c': '2' } })), ok)).status, 201);
});

test('`builder user` in another process changes or disables a user: the cached password stops working', async () => {
  clock.advance(WINDOW_MS + 1);
  const old = basic('admin', 'secret');
  assert.equal((await upload(encodeExec(makeExec({ job: 'rotate', files: { 'bin/r': '1' } })), old)).status, 201);
  const changed = await runCli(['user', 'update', 'admin', '--password=fresh', `--dir=${env.dir}`]);
  assert.equal(changed.status, 0, changed.stderr);
  const refused = await upload(encodeExec(makeExec({ job: 'rotate', files: { 'bin/r': '2' } })), old);
  assert.equal(refused.status, 401);
  const fresh = basic('admin', 'fresh');
  assert.equal((await upload(encodeExec(makeExec({ job: 'rotate', files: { 'bin/r': '3' } })), fresh)).status, 201);
  const disabled = await runCli(['user', 'disable', 'admin', `--dir=${env.dir}`]);
  assert.equal(disabled.status, 0, disabled.stderr);
  assert.equal((await upload(encodeExec(makeExec({ job: 'rotate', files: { 'bin/r': '4' } })), fresh)).status, 401);
});
