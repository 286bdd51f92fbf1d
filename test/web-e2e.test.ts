// The web frontend in real Chromium: uploads show on the pages, artifacts download byte for byte,
// reproductions and comparisons show, hash search finds builds (the live console: test/server-web.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { destroyPool } from '../src/pool/pool.ts';
import { encodeExec } from '../src/protocol/exec-codec.ts';
import { uuidToString } from '../src/protocol/uuid.ts';
import type { Exec } from '../src/protocol/types.ts';
import { UserStore } from '../src/web/users.ts';
import { startWebServer, type WebServer } from '../src/web/web-server.ts';
import { launchChromium, type Browser } from './helpers/web-browser.ts';
import { basic, http, inputFiles, makeExec, tempEnv, type TempEnv } from './helpers/web-fixtures.ts';

const sha = (s: string | Uint8Array) => createHash('sha256').update(s).digest('hex');
const SHOTS = join(import.meta.dirname, '..', 'test-artifacts', 'screenshots');
const WIDTHS = [1280, 390];

let env: TempEnv;
let web: WebServer;
let browser: Browser;
let page: Page;
let url: string;
const binary = new Uint8Array(200_000).map((_, i) => (i * 7919) % 251);
const builds: Record<'first' | 'repro' | 'changed' | 'failed', Exec> = {
  first: makeExec({
    started: new Date(Date.now() - 3 * 3600_000),
    files: { 'bin/hello.hvt': binary, 'README.md': 'section: Unikernels\nA unikernel that says hello.\n', ...inputFiles() },
  }),
  repro: makeExec({ started: new Date(Date.now() - 2 * 3600_000), files: { 'bin/hello.hvt': binary, ...inputFiles() } }),
  changed: makeExec({
    started: new Date(Date.now() - 3600_000),
    files: {
      'bin/hello.hvt': 'a different binary',
      ...inputFiles({ env: 'PATH=/usr/bin:/bin\nLANG=C.UTF-8\nHOME=/root\nCC=clang\n', pkgs: 'gcc=12.2.0-14\nmake=4.3-4.1\nclang=14.0\n' }),
    },
  }),
  failed: makeExec({ job: 'broken', started: new Date(Date.now() - 1800_000), files: {}, exitCode: 2, console: ['error: it broke'] }),
};
const id = (e: Exec) => uuidToString(e.uuid);

async function shoot(name: string): Promise<void> {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: join(SHOTS, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

test.before(async () => {
  await mkdir(SHOTS, { recursive: true });
  env = await tempEnv();
  const users = new UserStore(env.root);
  await users.add('admin', 'secret');
  await users.add('robot', 'beep', true);
  web = await startWebServer({ host: '127.0.0.1', port: 0, dataDir: env.dir, root: env.root, maxUploadBytes: 1024 * 1024, log: () => undefined });
  url = web.address.url;
  for (const e of Object.values(builds)) {
    const r = await http(`${url}/upload`, { method: 'POST', body: encodeExec(e), headers: { Authorization: basic('admin', 'secret') } });
    assert.equal(r.status, 201);
  }
  browser = await launchChromium();
  page = await browser.context.newPage();
});

test.after(async () => {
  await browser?.close();
  await web?.close();
  await env?.cleanup();
  await destroyPool();
});

test('an upload shows on /, the job page and the build page', async () => {
  await page.goto(`${url}/`);
  await page.getByRole('link', { name: 'hello', exact: true }).waitFor();
  assert.match(await page.locator('main').innerText(), new RegExp(sha('a different binary')));
  assert.match(await page.locator('main').innerText(), /Unikernels/);
  await shoot('index');

  await page.getByRole('link', { name: 'hello', exact: true }).click();
  await page.waitForURL(`${url}/job/hello`);
  const job = await page.locator('main').innerText();
  assert.match(job, /A unikernel that says hello/);
  // one entry per distinct main binary, newest first
  const entries = await page.locator('li.binary').allInnerTexts();
  assert.equal(entries.length, 2);
  assert.match(entries[0]!, new RegExp(sha('a different binary')));
  assert.match(entries[1]!, new RegExp(sha(binary)));
  await shoot('job');

  await page.goto(`${url}/job/hello/build/${id(builds.first)}`);
  const text = await page.locator('main').innerText();
  assert.match(text, /debian-12/);
  assert.match(text, /exited 0/);
  assert.match(text, /Reproduced by 1 build/);
  await shoot('build');
});

test('an artifact downloads byte for byte with the hash shown', async () => {
  await page.goto(`${url}/job/hello/build/${id(builds.repro)}`);
  const row = page.locator('tr', { hasText: 'bin/hello.hvt' });
  const shown = (await row.locator('code.hash').innerText()).trim();
  const [download] = await Promise.all([page.waitForEvent('download'), row.getByRole('link', { name: 'bin/hello.hvt' }).click()]);
  const bytes = await readFile((await download.path())!);
  assert.deepEqual(new Uint8Array(bytes), binary);
  assert.equal(sha(bytes), shown);
});

test('two builds with the same main binary show "Reproduced by"', async () => {
  await page.goto(`${url}/job/hello/build/${id(builds.repro)}`);
  const section = page.locator('section.reproduced');
  assert.match(await section.innerText(), /Reproduced by 1 build/);
  await section.getByRole('link').click();
  await page.waitForURL(`${url}/job/hello/build/${id(builds.first)}`);
});

test('the compare page shows environment and package differences', async () => {
  await page.goto(`${url}/job/hello/build/${id(builds.repro)}`);
  await page.getByRole('link', { name: 'with the next build' }).click();
  await page.waitForURL(`${url}/compare/${id(builds.repro)}/${id(builds.changed)}`);
  const env = await page.locator('section.diff', { hasText: 'Build environment' }).innerText();
  assert.match(env, /Added \(1\)\s+CC clang/);
  assert.match(env, /LANG C → C\.UTF-8/);
  const pkgs = await page.locator('section.diff', { hasText: 'System packages' }).innerText();
  assert.match(pkgs, /Added \(1\)\s+clang 14\.0/);
  assert.match(pkgs, /Removed \(1\)\s+libc6 2\.36-9/);
  await shoot('compare');
});

test('hash search in the header finds a build', async () => {
  await page.goto(`${url}/failed-builds`);
  assert.match(await page.locator('main').innerText(), /broken/);
  await shoot('failed');
  await page.getByRole('searchbox').or(page.locator('form.search input')).fill(`  ${sha('a different binary').toUpperCase()} `);
  await page.locator('form.search button').click();
  await page.waitForURL(`${url}/job/hello/build/${id(builds.changed)}`);
  assert.match(await page.locator('main').innerText(), new RegExp(sha('a different binary')));
});

// The live console and lifecycle are tested inside the real server: test/server-web.test.ts.

// A 401 with a Basic challenge makes Chromium ask for a password, so the missing-credentials case is
// checked over plain HTTP (web-upload.test.ts); here the 401 of a restricted user without access.
test('401, 409, 400 and 413 from the browser', async () => {
  await page.goto(`${url}/`);
  // Without credentials Chromium answers the Basic challenge with its login dialog; cancel it as a
  // user would, so the 401 reaches the page.
  const cdp = await browser.context.newCDPSession(page);
  cdp.on('Fetch.requestPaused', (e: { requestId: string }) => void cdp.send('Fetch.continueRequest', { requestId: e.requestId }).catch(() => undefined));
  cdp.on('Fetch.authRequired', (e: { requestId: string }) =>
    void cdp.send('Fetch.continueWithAuth', { requestId: e.requestId, authChallengeResponse: { response: 'CancelAuth' } }).catch(() => undefined),
  );
  await cdp.send('Fetch.enable', { handleAuthRequests: true, patterns: [{ urlPattern: '*/upload' }] });
  const post = (body: number[], auth?: string) =>
    page.evaluate(
      async ({ body, auth }) => {
        const r = await fetch('/upload', { method: 'POST', body: new Uint8Array(body), headers: auth ? { Authorization: auth } : {} });
        return { status: r.status };
      },
      { body, auth },
    );
  const dup = [...encodeExec(builds.first)];
  assert.equal((await post(dup)).status, 401);
  assert.equal((await post(dup, basic('robot', 'beep'))).status, 401);
  assert.equal((await post(dup, basic('admin', 'secret'))).status, 409);
  assert.equal((await post([1, 2, 3], basic('admin', 'secret'))).status, 400);
  const huge = [...encodeExec(makeExec({ files: { 'bin/x': new Uint8Array(1024 * 1024 + 1) } }))];
  assert.equal((await post(huge, basic('admin', 'secret'))).status, 413);
  await cdp.detach();
});
