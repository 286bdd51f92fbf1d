// Issue 15.6 and 15.7: download headers and archives from hostile names. Content-Disposition is RFC 6266
// with an RFC 8187 filename* and an ASCII fallback for any name (quotes, NUL, outside Latin-1); all.tar.gz
// never writes an entry outside its directory, also for builds stored before uploads refused such paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { destroyPool } from '../src/pool/pool.ts';
import { encodeExec } from '../src/protocol/exec-codec.ts';
import { uuidToString } from '../src/protocol/uuid.ts';
import { buildStoreFor } from '../src/web/build-store.ts';
import { UserStore } from '../src/web/users.ts';
import { startWebServer, type WebServer } from '../src/web/web-server.ts';
import { basic, http, makeExec, tempEnv, type TempEnv } from './helpers/web-fixtures.ts';

let env: TempEnv;
let web: WebServer;
let url: string;
const admin = basic('admin', 'secret');

test.before(async () => {
  env = await tempEnv();
  await new UserStore(env.root).add('admin', 'secret');
  web = await startWebServer({ host: '127.0.0.1', port: 0, dataDir: env.dir, root: env.root, log: () => undefined });
  url = web.address.url;
});

test.after(async () => {
  await web.close();
  await env.cleanup();
  await destroyPool();
});

/** The file name a client takes from Content-Disposition: filename* (RFC 8187) when there, else filename. */
function dispositionName(header: string): { star: string; fallback: string } {
  const star = /filename\*=UTF-8''([^;\s]*)/.exec(header);
  const plain = /filename="([^"\\]*)"/.exec(header);
  assert.ok(star && plain, header);
  return { star: decodeURIComponent(star[1]!), fallback: plain[1]! };
}

/** The raw status line and headers of a GET, as sent on the wire. */
function rawHead(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(web.address.port, '127.0.0.1', () => s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    let got = '';
    s.on('data', (c: Buffer) => (got += c.toString('latin1')));
    s.on('end', () => resolve(got.split('\r\n\r\n')[0]!));
    s.on('error', reject);
  });
}

test('a job name with a quote cannot break out of the filename of all.tar.gz', async () => {
  const job = 'evil"; filename=x.sh; a="';
  const exec = makeExec({ job, files: { 'bin/e': 'E' } });
  assert.equal((await http(`${url}/upload`, { method: 'POST', body: encodeExec(exec), headers: { Authorization: admin } })).status, 201);
  const r = await http(`${url}/job/${encodeURIComponent(job)}/build/${uuidToString(exec.uuid)}/all.tar.gz`);
  assert.equal(r.status, 200);
  const cd = String(r.headers['content-disposition']);
  // exactly two parameters: one quoted-string without quotes inside, one RFC 8187 ext-value
  assert.match(cd, /^attachment; filename="[^"\\]*"; filename\*=UTF-8''[A-Za-z0-9!#$&+\-.^_`|~%]*$/);
  const names = dispositionName(cd);
  assert.equal(names.star, `${job}-${uuidToString(exec.uuid)}.tar.gz`);
  assert.doesNotMatch(names.fallback, /["\\;]/);
});

test('file names with NUL, CR/LF or outside Latin-1 download with 200 and an exact filename*, never a 500', async () => {
  // stored directly, as a build recorded before uploads refused such names would be
  const store = buildStoreFor(env.root, env.dir);
  const names = ['bin/ü€😀.bin', 'bin/nul\0byte.bin', 'bin/cr\r\nlf.bin', 'bin/quote".bin'];
  const exec = makeExec({ job: 'names', files: Object.fromEntries(names.map((n, i) => [n, `content ${i}`])) });
  await store.record(exec);
  const base = `/job/names/build/${uuidToString(exec.uuid)}/f/`;
  for (const [i, name] of names.entries()) {
    const path = base + name.split('/').map(encodeURIComponent).join('/');
    const r = await http(url + path);
    assert.equal(r.status, 200, JSON.stringify(name));
    assert.equal(r.body.toString(), `content ${i}`);
    const got = dispositionName(String(r.headers['content-disposition']));
    assert.equal(got.star, name.slice('bin/'.length));
    assert.match(got.fallback, /^[\x20-\x7e]+$/);
    assert.match(await rawHead(path), /^HTTP\/1\.1 200 OK\r\n/);
  }
});

test('all.tar.gz of a build with escaping paths (stored before the upload rule) keeps every entry inside its directory', async () => {
  const store = buildStoreFor(env.root, env.dir);
  const exec = makeExec({ job: '../../up', files: { '../../x': 'escape', '//etc/passwd': 'root', 'bin/fine': 'fine', 'a\x01b': 'ctl' } });
  await store.record(exec);
  const uuid = uuidToString(exec.uuid);
  const r = await http(`${url}/job/${encodeURIComponent('../../up')}/build/${uuid}/all.tar.gz`);
  assert.equal(r.status, 200);
  const listing = execFileSync('tar', ['-tz'], { input: r.body }).toString().trim().split('\n');
  assert.deepEqual(listing, [`.._.._up-${uuid}/bin/fine`]);
});

test('links to artifacts encode every path segment', async () => {
  const path = 'docs/a?b#c%d e.txt';
  const exec = makeExec({ job: 'links', files: { 'bin/l': 'L', [path]: 'odd' } });
  assert.equal((await http(`${url}/upload`, { method: 'POST', body: encodeExec(exec), headers: { Authorization: admin } })).status, 201);
  const page = (await http(`${url}/job/links/build/${uuidToString(exec.uuid)}`)).body.toString();
  const href = /href="([^"]*a%3Fb[^"]*)"/.exec(page)?.[1];
  assert.equal(href, `/job/links/build/${uuidToString(exec.uuid)}/f/docs/a%3Fb%23c%25d%20e.txt`);
  assert.equal((await http(url + href)).body.toString(), 'odd');
});
