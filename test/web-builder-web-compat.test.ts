// builder-web's surface over real HTTP: the JSON of the index, a job, a build and a compare with
// builder-web's keys; text artifacts inline with their content type, binaries as downloads;
// robots.txt; the HTML 404; uploading a manually built binary; --expired-jobs; the visualizations
// computed once after an upload, before anyone asks, and served from the cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { destroyPool } from '../src/pool/pool.ts';
import { encodeExec } from '../src/protocol/exec-codec.ts';
import { uuidToString } from '../src/protocol/uuid.ts';
import type { Exec } from '../src/protocol/types.ts';
import { recordBuild } from '../src/web/record-build.ts';
import { UserStore } from '../src/web/users.ts';
import { VIZ_VERSION } from '../src/web/viz-cache.ts';
import { startWebServer, type WebServer } from '../src/web/web-server.ts';
import { basic, http, inputFiles, makeExec, tempEnv, type TempEnv } from './helpers/web-fixtures.ts';
import { BUILD_ENVIRONMENT, compileUnikernel, opamSwitch, SOLO5_DEVICES, SYSTEM_PACKAGES, unikernelReadme } from './helpers/unikernel-fixture.ts';
import { solo5Info } from '../src/web/solo5-manifest.ts';

const sha = (s: string | Uint8Array) => createHash('sha256').update(s).digest('hex');
const JSON_ACCEPT = { Accept: 'application/json' };
const SOLO5_MANIFEST = { type: 'solo5.manifest', version: 1, devices: SOLO5_DEVICES };
const SOLO5_ABI = { type: 'solo5.abi', target: 'hvt', version: 2 };
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/;

let env: TempEnv;
let web: WebServer;
let url: string;
let elf: Uint8Array;
const admin = basic('admin', 'secret');
const UNI = 'dns-resolver';
const OTHER_SRC = `git+https://git.robur.coop/robur/${UNI}.git#fedcba9876543210fedcba9876543210fedcba98`;
let u1: Exec;
let u2: Exec;

const get = async (path: string, headers: Record<string, string> = {}) => http(`${url}${path}`, { headers });
const getJson = async (path: string) => {
  const r = await get(path, JSON_ACCEPT);
  assert.equal(r.status, 200, `${path}: ${r.body.toString()}`);
  assert.equal(r.headers['content-type'], 'application/json');
  return JSON.parse(r.body.toString());
};

test.before(async () => {
  env = await tempEnv();
  await new UserStore(env.root).add('admin', 'secret');
  web = await startWebServer({ host: '127.0.0.1', port: 0, dataDir: env.dir, root: env.root, expiredJobsDays: 7, log: () => undefined });
  url = web.address.url;
  elf = await compileUnikernel();
  const files = (src?: string) => ({
    'bin/dns-resolver.hvt': elf,
    'opam-switch': opamSwitch(UNI, src ? { src } : {}),
    'build-environment': BUILD_ENVIRONMENT,
    'system-packages': SYSTEM_PACKAGES,
    'README.md': unikernelReadme(UNI),
    'notes.txt': 'plain notes\n',
  });
  u1 = makeExec({ job: UNI, started: new Date(Date.now() - 2 * 3600_000), files: files() });
  u2 = makeExec({ job: UNI, started: new Date(Date.now() - 3600_000), files: files(OTHER_SRC) });
});

test.after(async () => {
  await web?.close();
  await env?.cleanup();
  await destroyPool();
});

test('the visualizations are computed once after an upload, before a request, and served from the cache', async () => {
  const recorded = await recordBuild(u1, { root: env.root, dataDir: env.dir });
  await recorded.visualizations;
  const cached = (await readdir(join(env.dir, '_cache', 'viz'))).filter((f) => f.endsWith('.html')).sort();
  assert.deepEqual(
    cached,
    [`dependencies-${VIZ_VERSION}-${sha(opamSwitch(UNI))}.html`, `treemap-${VIZ_VERSION}-${sha(elf)}.html`].sort(),
  );
  const base = `/job/${UNI}/build/${uuidToString(u1.uuid)}`;
  const deps = await get(`${base}/vizdependencies`);
  assert.equal(deps.status, 200);
  assert.equal(deps.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(deps.body.toString(), await readFile(join(env.dir, '_cache', 'viz', `dependencies-${VIZ_VERSION}-${sha(opamSwitch(UNI))}.html`), 'utf8'));
  // offline: no script, style or frame from elsewhere
  for (const page of [deps.body.toString(), (await get(`${base}/viztreemap`)).body.toString()]) {
    assert.doesNotMatch(page, /<(script|link|img|iframe)[^>]+(src|href)=/i);
  }
  assert.match((await get(`${base}/viztreemap`)).body.toString(), /Mirage_crypto\.Cipher_block: /);
  // a second upload with the same binary and another opam switch: one more dependency graph, the treemap shared
  const second = await recordBuild(u2, { root: env.root, dataDir: env.dir });
  await second.visualizations;
  assert.equal((await readdir(join(env.dir, '_cache', 'viz'))).filter((f) => f.endsWith('.html')).length, 3);
  // the build page embeds both
  const html = (await get(base)).body.toString();
  assert.match(html, new RegExp(`<iframe src="${base}/vizdependencies"`));
  assert.match(html, new RegExp(`<iframe src="${base}/viztreemap"`));
  // a build without an opam switch has no dependency graph
  const plain = makeExec({ job: 'plain', files: { 'bin/p': 'not an elf' } });
  assert.equal((await http(`${url}/upload`, { method: 'POST', body: encodeExec(plain), headers: { Authorization: admin } })).status, 201);
  const none = await get(`/job/plain/build/${uuidToString(plain.uuid)}/vizdependencies`);
  assert.equal(none.status, 404);
  assert.match((await get(`/job/plain/build/${uuidToString(plain.uuid)}/viztreemap`)).body.toString(), /no symbol table/);
  // once known to have no symbols, its build page says so instead of embedding an empty frame
  const plainPage = (await get(`/job/plain/build/${uuidToString(plain.uuid)}`)).body.toString();
  assert.doesNotMatch(plainPage, /<iframe/);
  assert.match(plainPage, /<p class="empty no-symbols"><a href="[^"]+\/viztreemap">Binary dissection<\/a>: This binary has no symbol table/);
});

test('JSON of the index, a job, a build and a compare has builder-web keys', async () => {
  const index = await getJson('/');
  const job = index.jobs.find((j: { name: string }) => j.name === UNI);
  assert.equal(job.synopsis, 'A DNS resolver unikernel, built reproducibly');
  assert.deepEqual(
    index.jobs_by_section['Unikernels'].map((j: { name: string }) => j.name),
    [UNI],
  );
  assert.equal(job.platforms[0].uuid, uuidToString(u2.uuid));
  // builder-web's `latest`: the newest build, with its main binary's Solo5 manifest and ABI
  assert.deepEqual(job.latest, { uuid: uuidToString(u2.uuid), solo5_manifest: SOLO5_MANIFEST, solo5_abi: SOLO5_ABI });
  assert.deepEqual(Object.keys(job).slice(0, 3), ['name', 'synopsis', 'latest']);

  const jobJson = await getJson(`/job/${UNI}`);
  // one per distinct main binary, with builder-web's main_binary object
  assert.equal(jobJson.builds.length, 1);
  assert.deepEqual(Object.keys(jobJson.builds[0]).slice(0, 2), ['uuid', 'main_binary']);
  assert.deepEqual(jobJson.builds[0].main_binary, { filename: 'dns-resolver.hvt', sha256: sha(elf), size: elf.length });

  const build = await getJson(`/job/${UNI}/build/${uuidToString(u1.uuid)}`);
  assert.equal(build.job, UNI);
  assert.equal(build.uuid, uuidToString(u1.uuid));
  assert.equal(build.platform, 'debian-12');
  assert.match(build.start_time, RFC3339);
  assert.match(build.finish_time, RFC3339);
  assert.equal(Date.parse(build.start_time), Math.floor(u1.started.getTime() / 1000) * 1000);
  assert.equal(build.main_binary, true);
  assert.deepEqual(Object.keys(build).slice(0, 8), ['job', 'uuid', 'platform', 'start_time', 'finish_time', 'main_binary', 'solo5_manifest', 'solo5_abi']);
  assert.deepEqual(build.solo5_manifest, SOLO5_MANIFEST);
  assert.deepEqual(build.solo5_abi, SOLO5_ABI);
  // a binary without Solo5 notes has neither key, nor its job a `latest`
  const manual = await http(`${url}/job/no-solo5/platform/debian-12/upload?binary_name=app`, { method: 'POST', body: new TextEncoder().encode('#!/bin/sh\necho a manually built tool\n'), headers: { Authorization: admin } });
  assert.equal(manual.status, 201, manual.body.toString());
  const plainJob = await getJson('/job/no-solo5');
  const plainBuild = await getJson(`/job/no-solo5/build/${plainJob.builds[0].uuid}`);
  assert.equal('solo5_manifest' in plainBuild, false);
  assert.equal('solo5_abi' in plainBuild, false);
  assert.equal('latest' in (await getJson('/')).jobs.find((j: { name: string }) => j.name === 'no-solo5'), false);

  const cmp = await getJson(`/compare/${uuidToString(u1.uuid)}/${uuidToString(u2.uuid)}`);
  assert.equal(cmp.left.uuid, uuidToString(u1.uuid));
  assert.equal(cmp.right.uuid, uuidToString(u2.uuid));
  assert.equal(cmp.left.main_binary, true);
  assert.equal(cmp.left.main_binary_size, elf.length);
  assert.match(cmp.right.start_time, RFC3339);
  assert.deepEqual(cmp.env_diff, { left_packages: [], right_packages: [], different_versions: [] });
  assert.deepEqual(cmp.package_diff, { left_packages: [], right_packages: [], different_versions: [] });
  assert.deepEqual(Object.keys(cmp.opam_diff), ['opam_diff', 'version_diff', 'only_in_left', 'only_in_right', 'duniverse_diff']);
  assert.deepEqual(cmp.opam_diff.duniverse_diff, { left: [], right: [], detailed_diff: [] });
  assert.equal(cmp.opam_diff.opam_diff.length, 1);
  assert.equal(cmp.opam_diff.opam_diff[0].package_version, `${UNI}.dev`);
  assert.equal(cmp.opam_diff.opam_diff[0].effectively_equal, false);
  assert.match(cmp.opam_diff.opam_diff[0].diff, /^\+ {2}src: "git\+https:\/\/git\.robur\.coop\/robur\/dns-resolver\.git#fedcba98/m);

  // environment and system packages under builder-web's names with its meaning: left_packages is
  // what the right build added, right_packages what it removed
  const e1 = makeExec({ job: 'envdiff', started: new Date(Date.now() - 2000_000), files: { 'bin/e': 'e', ...inputFiles({ env: 'A=1\nB=2\n', pkgs: 'gcc=12\nmake=4.3\n' }) } });
  const e2 = makeExec({ job: 'envdiff', started: new Date(Date.now() - 1000_000), files: { 'bin/e': 'e', ...inputFiles({ env: 'B=3\nC=4\n', pkgs: 'gcc=13\nclang=14\n' }) } });
  for (const e of [e1, e2]) assert.equal((await http(`${url}/upload`, { method: 'POST', body: encodeExec(e), headers: { Authorization: admin } })).status, 201);
  const envCmp = await getJson(`/compare/${uuidToString(e1.uuid)}/${uuidToString(e2.uuid)}`);
  assert.deepEqual(envCmp.env_diff, {
    left_packages: [{ name: 'C', version: '4' }],
    right_packages: [{ name: 'A', version: '1' }],
    different_versions: [{ name: 'B', version_left: '2', version_right: '3' }],
  });
  assert.deepEqual(envCmp.package_diff, {
    left_packages: [{ name: 'clang', version: '14' }],
    right_packages: [{ name: 'make', version: '4.3' }],
    different_versions: [{ name: 'gcc', version_left: '12', version_right: '13' }],
  });
});

test('text artifacts open inline as UTF-8 text, binaries download; console and script are text', async () => {
  const base = `/job/${UNI}/build/${uuidToString(u1.uuid)}`;
  for (const f of ['opam-switch', 'build-environment', 'system-packages', 'notes.txt', '../console', '../script']) {
    const path = f.startsWith('../') ? `${base}/${f.slice(3)}` : `${base}/f/${f}`;
    const r = await get(path);
    assert.equal(r.status, 200, path);
    assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8', path);
    assert.equal(r.headers['content-disposition'], undefined, path);
  }
  const bin = await get(`${base}/f/bin/dns-resolver.hvt`);
  assert.equal(bin.headers['content-type'], 'application/octet-stream');
  assert.match(String(bin.headers['content-disposition']), /^attachment; filename="dns-resolver\.hvt"/);
  assert.deepEqual(new Uint8Array(bin.body), elf);
});

test('robots.txt as builder-web; unknown pages answer the HTML 404 with navigation and search', async () => {
  const robots = await get('/robots.txt');
  assert.equal(robots.headers['content-type'], 'text/plain; charset=utf-8');
  const text = robots.body.toString();
  for (const p of ['/job/*/build/*/f/', '/job/*/build/*/main-binary', '/job/*/build/*/console', '/job/*/build/*/script', '/job/*/build/*/exec', '/job/*/build/*/all.tar.gz', '/compare/']) {
    assert.ok(text.includes(`Disallow: ${p}\n`), p);
  }
  assert.match(text, /^User-agent: \*\n/);
  for (const path of ['/nope', `/job/${UNI}/build/00000000-0000-4000-8000-000000000000`, '/job/unknown-job']) {
    const r = await get(path);
    assert.equal(r.status, 404, path);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    const html = r.body.toString();
    assert.match(html, /This page does not exist/);
    assert.match(html, /<form class="search" action="\/hash"/);
    assert.match(html, /<nav><a href="\/">Jobs<\/a>/);
  }
  // JSON clients still get JSON errors
  const j = await get('/nope', JSON_ACCEPT);
  assert.equal(JSON.parse(j.body.toString()).error, 'ERR_WEB_NOT_FOUND');
});

test('POST /job/:job/platform/:p/upload?binary_name= records a manually built binary', async () => {
  const binary = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 2, 3]);
  const r = await http(`${url}/job/manual/platform/freebsd-14/upload?binary_name=tool.bin`, { method: 'POST', body: binary, headers: { Authorization: admin } });
  assert.equal(r.status, 201, r.body.toString());
  const job = await getJson('/job/manual');
  assert.equal(job.builds.length, 1);
  assert.deepEqual(job.builds[0].main_binary, { filename: 'tool.bin', sha256: sha(binary), size: binary.length });
  const build = await getJson(`/job/manual/build/${job.builds[0].uuid}`);
  assert.equal(build.platform, 'freebsd-14');
  assert.equal((await get(`/job/manual/build/${job.builds[0].uuid}/script`)).body.toString(), '# This artifact was manually built\n');
  // the default name is <job>.bin; names with a path are refused; credentials are required
  assert.equal((await http(`${url}/job/manual/platform/freebsd-14/upload`, { method: 'POST', body: binary, headers: { Authorization: admin } })).status, 201);
  // same bytes: one entry, shown with its newest build
  assert.equal((await getJson('/job/manual')).builds[0].main_binary.filename, 'manual.bin');
  assert.equal((await http(`${url}/job/manual/platform/freebsd-14/upload?binary_name=../x`, { method: 'POST', body: binary, headers: { Authorization: admin } })).status, 400);
  assert.equal((await http(`${url}/job/manual/platform/freebsd-14/upload`, { method: 'POST', body: binary })).status, 401);
});

test('--expired-jobs: / leaves out jobs whose latest successful build is older; /all-builds keeps them', async () => {
  const old = makeExec({ job: 'ancient', started: new Date(Date.now() - 30 * 86_400_000), files: { 'bin/a': 'a', ...inputFiles() } });
  assert.equal((await http(`${url}/upload`, { method: 'POST', body: encodeExec(old), headers: { Authorization: admin } })).status, 201);
  const active = await getJson('/');
  assert.equal(active.jobs.some((j: { name: string }) => j.name === 'ancient'), false);
  const all = await getJson('/all-builds');
  assert.equal(all.jobs.some((j: { name: string }) => j.name === 'ancient'), true);
  assert.match((await get('/')).body.toString(), /in the last 7 days/);
});

test('/failed-builds?platform= lists that platform only; none says so', async () => {
  for (const [job, platform] of [
    ['f1', 'debian-12'],
    ['f2', 'freebsd-14'],
  ] as const) {
    const e = makeExec({ job, platform, files: {}, exitCode: 1 });
    assert.equal((await http(`${url}/upload`, { method: 'POST', body: encodeExec(e), headers: { Authorization: admin } })).status, 201);
  }
  // builder-web's job JSON with failed builds: their main_binary is null
  const withFailed = await getJson('/job/f2/failed');
  assert.deepEqual(withFailed.builds.map((b: { uuid: string; main_binary: unknown }) => [Object.keys(b).slice(0, 2), b.main_binary]), [[['uuid', 'main_binary'], null]]);
  assert.deepEqual((await getJson('/job/f2')).builds, []);
  const free = (await getJson('/failed-builds?platform=freebsd-14')).map((b: { job: string }) => b.job);
  assert.deepEqual(free, ['f2']);
  const html = (await get('/failed-builds?platform=openbsd-7')).body.toString();
  assert.match(html, /No failed builds to list/);
});

test('Solo5 notes: read from the ELF file; anything malformed reads as none', () => {
  assert.deepEqual(solo5Info(elf), { manifest: SOLO5_MANIFEST, abi: SOLO5_ABI });
  const manifestAt = Buffer.from(elf).indexOf(Buffer.from('MFT1Solo5\0', 'latin1'));
  assert.ok(manifestAt > 0);
  const corrupt = (at: number, byte: number) => {
    const copy = new Uint8Array(elf);
    copy[at] = byte;
    return copy;
  };
  // the first entry is not RESERVED_FIRST; a device with runtime fields set; another owner; ELF32
  assert.equal(solo5Info(corrupt(manifestAt + 10 + 2 + 12 + 71, 0)), undefined);
  assert.equal(solo5Info(corrupt(manifestAt + 10 + 2 + 12 + 104 + 96, 1)), undefined);
  assert.equal(solo5Info(corrupt(manifestAt + 4, 0x73)), undefined);
  assert.equal(solo5Info(corrupt(4, 1)), undefined);
  for (const n of [0, 16, 64, 1000, elf.length - 1]) assert.equal(solo5Info(elf.subarray(0, n)), undefined, `cut at ${n}`);
  assert.equal(solo5Info(new TextEncoder().encode('not an ELF file at all, not even close to one')), undefined);
});
