// The web frontend in real Chromium: uploads show on the pages, artifacts download byte for byte,
// text artifacts open inline, reproductions and comparisons show (opam file diffs too), the README
// renders, a unikernel build shows both visualizations, hash search finds builds, unknown pages get
// the 404 page (the live console: test/server-web.test.ts). Every page is saved as a screenshot at
// desktop and phone width to the directory printed at the start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { destroyPool } from '../src/pool/pool.ts';
import { encodeExec } from '../src/protocol/exec-codec.ts';
import { uuidToString } from '../src/protocol/uuid.ts';
import type { Exec } from '../src/protocol/types.ts';
import { webErrors } from '../src/errors/web-error.ts';
import { UserStore } from '../src/web/users.ts';
import { startWebServer, type WebServer } from '../src/web/web-server.ts';
import { launchChromium, type Browser } from './helpers/web-browser.ts';
import { shoot } from './helpers/web-screenshots.ts';
import { basic, http, inputFiles, makeExec, tempEnv, type TempEnv } from './helpers/web-fixtures.ts';
import { BUILD_ENVIRONMENT, compileUnikernel, opamSwitch, SYSTEM_PACKAGES, unikernelReadme } from './helpers/unikernel-fixture.ts';

const sha = (s: string | Uint8Array) => createHash('sha256').update(s).digest('hex');

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
// a unikernel built three times: u2 has the same binary from another commit of the source (other
// input), u3 another binary with a newer tcpip
const uni: Record<'u1' | 'u2' | 'u3', Exec> = {} as never;
const UNI = 'dns-resolver';
const OTHER_SRC = `git+https://git.robur.coop/robur/${UNI}.git#fedcba9876543210fedcba9876543210fedcba98`;


test.before(async () => {
  const elf = await compileUnikernel();
  const files = (v: Parameters<typeof opamSwitch>[1], bin: Uint8Array) => ({
    'bin/dns-resolver.hvt': bin,
    'opam-switch': opamSwitch(UNI, v),
    'build-environment': BUILD_ENVIRONMENT,
    'system-packages': SYSTEM_PACKAGES,
    'README.md': unikernelReadme(UNI),
    'dns-resolver.build-hashes': 'sha256 ...\n',
  });
  uni.u1 = makeExec({ job: UNI, started: new Date(Date.now() - 5 * 3600_000), files: files({}, elf) });
  // vendored (duniverse) directories: u3 drops one, adds one and has another at a new hash
  const dir = (name: string, hash: string): [string, string, string] => [`https://github.com/mirage/${name}/releases/download/v1/${name}.tbz`, name, hash.repeat(64)];
  uni.u2 = makeExec({ job: UNI, started: new Date(Date.now() - 4 * 3600_000), files: files({ src: OTHER_SRC, duniverse: [dir('ca-certs', 'a'), dir('dns', 'b')] }, elf) });
  uni.u3 = makeExec({
    job: UNI,
    started: new Date(Date.now() - 3 * 3600_000),
    files: files({ src: OTHER_SRC, tcpip: '8.3.0', duniverse: [dir('ca-certs', 'c'), dir('ocaml-tls', 'd')] }, new Uint8Array([...elf, 1, 2, 3])),
  });
  env = await tempEnv();
  const users = new UserStore(env.root);
  await users.add('admin', 'secret');
  await users.add('robot', 'beep', true);
  web = await startWebServer({ host: '127.0.0.1', port: 0, dataDir: env.dir, root: env.root, maxUploadBytes: 1024 * 1024, log: () => undefined });
  url = web.address.url;
  for (const e of [...Object.values(builds), ...Object.values(uni)]) {
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
  await shoot(page, 'index');

  await page.getByRole('link', { name: 'hello', exact: true }).click();
  await page.waitForURL(`${url}/job/hello`);
  const job = await page.locator('main').innerText();
  assert.match(job, /A unikernel that says hello/);
  // one entry per distinct main binary, newest first
  const entries = await page.locator('li.binary').allInnerTexts();
  assert.equal(entries.length, 2);
  assert.match(entries[0]!, new RegExp(sha('a different binary')));
  assert.match(entries[1]!, new RegExp(sha(binary)));
  await shoot(page, 'job');

  // its binary is no ELF file: once the treemap was computed (here: asked for), the build page
  // says so in a line instead of an empty frame
  assert.match((await http(`${url}/job/hello/build/${id(builds.first)}/viztreemap`)).body.toString(), /no symbol table/);
  await page.goto(`${url}/job/hello/build/${id(builds.first)}`);
  const text = await page.locator('main').innerText();
  assert.match(text, /debian-12/);
  assert.match(text, /exited 0/);
  assert.match(text, /Reproduced by 1 build/);
  assert.match(await page.locator('p.no-symbols').innerText(), /Binary dissection: This binary has no symbol table/);
  assert.equal(await page.locator('iframe[title="Binary dissection"]').count(), 0);
  assert.equal(await page.locator('iframe[title="Opam dependencies"]').count(), 1);
  await shoot(page, 'build');
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
  // builder-web's comparisons: the later build with another main binary, compared with this one
  await page.locator('section.comparisons').getByRole('link').first().click();
  await page.waitForURL(`${url}/compare/${id(builds.changed)}/${id(builds.repro)}`);
  await page.getByRole('link', { name: 'Compare in reverse direction' }).click();
  await page.waitForURL(`${url}/compare/${id(builds.repro)}/${id(builds.changed)}`);
  assert.match(await page.locator('#env-added').innerText(), /CC clang/);
  assert.match(await page.locator('#env-changed').innerText(), /LANG C->C\.UTF-8/);
  assert.match(await page.locator('#pkgs-added').innerText(), /clang 14\.0/);
  assert.match(await page.locator('#pkgs-removed').innerText(), /libc6 2\.36-9/);
  // the later build's comparisons: the nearest earlier build whose main binary differs
  await page.goto(`${url}/job/hello/build/${id(builds.changed)}`);
  const earlier = page.locator('section.comparisons li', { hasText: 'Earlier build with different output' }).getByRole('link');
  assert.equal(await earlier.getAttribute('href'), `/compare/${id(builds.repro)}/${id(builds.changed)}`);
  assert.equal(await page.locator('section.comparisons li', { hasText: 'Later build' }).count(), 0);
  await page.goto(`${url}/compare/${id(builds.repro)}/${id(builds.changed)}`);
  // counts with anchors
  await page.getByRole('link', { name: '1 New environment variables added' }).click();
  await page.waitForURL(/#env-added$/);
  await shoot(page, 'compare');
});

test('hash search in the header finds a build', async () => {
  await page.goto(`${url}/failed-builds`);
  assert.match(await page.locator('main').innerText(), /broken/);
  await shoot(page, 'failed');
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
  // authenticated, but without access to the job: the status of that error (test/web-upload.test.ts pins the number)
  assert.equal((await post(dup, basic('robot', 'beep'))).status, webErrors.forbiddenJob('robot', 'hello').status);
  assert.equal((await post(dup, basic('admin', 'secret'))).status, 409);
  assert.equal((await post([1, 2, 3], basic('admin', 'secret'))).status, 400);
  const huge = [...encodeExec(makeExec({ files: { 'bin/x': new Uint8Array(1024 * 1024 + 1) } }))];
  assert.equal((await post(huge, basic('admin', 'secret'))).status, 413);
  await cdp.detach();
});

test('the index groups jobs into sections derived from the build, with the synopsis', async () => {
  await page.goto(`${url}/`);
  const section = page.locator('section.index-section', { has: page.getByRole('heading', { name: 'Unikernels', exact: true }) });
  const text = await section.innerText();
  assert.match(text, /dns-resolver/);
  assert.match(text, /A DNS resolver unikernel, built reproducibly/);
  // the latest successful build's main binary downloads from the index
  assert.match(text, /Download dns-resolver\.hvt/);
  await shoot(page, 'index-sections');
});

test('the job page renders the README (sanitized) and links the main binary for download', async () => {
  await page.goto(`${url}/job/${UNI}`);
  const readme = page.locator('article.markdown');
  assert.equal(await readme.locator('h3', { hasText: UNI }).count(), 1);
  assert.equal(await readme.locator('strong', { hasText: 'recursive DNS resolver' }).count(), 1);
  assert.equal(await readme.getByRole('link', { name: 'the project page' }).getAttribute('href'), 'https://robur.coop/Projects/Reproducible_builds');
  // raw HTML is text, never markup
  assert.equal(await readme.locator('script').count(), 0);
  assert.match(await readme.innerText(), /<script>alert\("not run"\)<\/script>/);
  const link = page.locator('li.binary').first().getByRole('link', { name: /Download dns-resolver\.hvt/ });
  assert.match((await link.getAttribute('href'))!, new RegExp(`/job/${UNI}/build/${id(uni.u3)}/f/bin/dns-resolver\\.hvt$`));
  await shoot(page, 'job-readme');
  // the failed view keeps the platform, and links back with it
  await page.goto(`${url}/job/hello/failed?platform=debian-12`);
  const back = page.getByRole('link', { name: 'here' });
  assert.equal(await back.getAttribute('href'), '/job/hello?platform=debian-12');
});

/** In the page: every visualization frame loaded and at least as tall as its content. */
const FRAMES_FIT = `[...document.querySelectorAll('figure.viz iframe')].every((f) => {
  const d = f.contentDocument;
  return d && d.body && d.URL !== 'about:blank' && d.readyState === 'complete' && f.clientHeight + 1 >= d.body.getBoundingClientRect().height;
})`;

/** In the page: which treemap layout the frame shows, and the labels not inside their block. */
const TREEMAP_LAYOUT = `(() => {
  const d = document.querySelector('iframe[title="Binary dissection"]').contentDocument;
  const svg = [...d.querySelectorAll('svg')].find((s) => d.defaultView.getComputedStyle(s).display !== 'none');
  const outside = [];
  let labels = 0;
  for (const t of svg.querySelectorAll('text')) {
    labels++;
    const b = t.getBBox();
    // a module's label follows its block; a group's label is in the group's first block
    const box = t.classList.contains('glabel') ? t.parentNode.querySelector('rect') : t.previousElementSibling;
    if (!box || b.x + b.width > Number(box.getAttribute('x')) + Number(box.getAttribute('width')) + 0.5) outside.push(t.textContent);
  }
  return { shown: svg.getAttribute('class'), outside, labels };
})()`;

test('a unikernel build shows both visualizations, embedded and on their own pages', async () => {
  await page.goto(`${url}/job/${UNI}/build/${id(uni.u1)}`);
  // the main binary's Solo5 notes, as builder-web shows them
  assert.equal(await page.locator('dd.solo5').innerText(), 'hvt (ABI version 2), devices: service (network), storage (block)');
  const deps = page.frameLocator('iframe[title="Opam dependencies"]');
  // the root in the middle, its six direct dependencies, the other five installed packages
  assert.match(await deps.locator('body').innerText(), /dns-resolver: 6 direct and 5 further dependencies/);
  assert.equal(await deps.locator("g.node").count(), 12);
  const treemap = page.frameLocator('iframe[title="Binary dissection"]');
  assert.match(await treemap.locator('body').innerText(), /OCaml Mirage_crypto/);
  assert.ok((await treemap.locator('rect.module').count()) >= 8);
  // at desktop and phone width: each frame as tall as its page (nothing cut off), the treemap's
  // layout for that width, every label inside its block
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForFunction(FRAMES_FIT);
    const layout = (await page.evaluate(TREEMAP_LAYOUT)) as { shown: string; outside: string[]; labels: number };
    assert.equal(layout.shown, width < 481 ? 'narrow' : 'wide');
    assert.deepEqual(layout.outside, [], `labels leaving their block at ${width} px`);
    assert.ok(layout.labels >= 8, `${layout.labels} labels`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  await shoot(page, 'build-viz');
  await page.goto(`${url}/job/${UNI}/build/${id(uni.u1)}/viztreemap`);
  const titles = await page.locator('rect.module title').allTextContents();
  assert.ok(titles.some((t) => t.startsWith('Mirage_crypto.Cipher_block:')), titles.join('|'));
  assert.ok(titles.some((t) => t.startsWith('Tcpip.Tcp_input:')), titles.join('|'));
  await shoot(page, 'viztreemap');
  await page.goto(`${url}/job/${UNI}/build/${id(uni.u1)}/vizdependencies`);
  await page.locator('g.node', { hasText: 'tcpip' }).locator('circle').hover();
  // hovering a package highlights its dependencies
  assert.equal(await page.locator('path.edge.hot').count(), 6);
  await shoot(page, 'vizdependencies');
});

test('"Reproduced by" tells same-input from other-input builds; the latter link to the compare page', async () => {
  await page.goto(`${url}/job/${UNI}/build/${id(uni.u2)}`);
  const section = page.locator('section.reproduced');
  assert.match(await section.innerText(), /Reproduced by 1 build/);
  const other = section.locator('li.other-input');
  assert.match(await other.innerText(), /different input/);
  await other.getByRole('link').click();
  await page.waitForURL(`${url}/compare/${id(uni.u1)}/${id(uni.u2)}`);
  // the changed source commit of the root package shows in its opam file diff
  const diff = await page.locator('#opam-packages-opam-diff').innerText();
  assert.match(diff, /dns-resolver\.dev/);
  assert.match(diff, /-\s*src: "git\+https:\/\/git\.robur\.coop\/robur\/dns-resolver\.git#0123456789abcdef/);
  assert.match(diff, /\+\s*src: "git\+https:\/\/git\.robur\.coop\/robur\/dns-resolver\.git#fedcba98/);
  assert.match(await page.locator('ul.compare-counts').innerText(), /1 Opam packages with changes in their opam file/);
  await shoot(page, 'compare-opam');
  // the build page offers builder-web's comparisons
  await page.goto(`${url}/job/${UNI}/build/${id(uni.u1)}`);
  const cmp = await page.locator('section.comparisons').innerText();
  assert.match(cmp, /Latest build/);
  assert.match(cmp, /Later build with different output/);
  await page.goto(`${url}/compare/${id(uni.u2)}/${id(uni.u3)}`);
  assert.match(await page.locator('#opam-packages-version-diff').innerText(), /tcpip\.8\.2\.0->8\.3\.0/);
  // the duniverse directories, as builder-web lists them
  assert.match(await page.locator('#duniverse-dirs-removed').innerText(), /^dns \(https:\/\/github\.com\/mirage\/dns\/releases\/download\/v1\/dns\.tbz\)$/m);
  assert.match(await page.locator('#duniverse-dirs-installed').innerText(), /^ocaml-tls \(/m);
  assert.match(await page.locator('#duniverse-dirs-content-diff').innerText(), new RegExp(`^ca-certs \\(\\S+\\) sha256=${'a'.repeat(64)}->sha256=${'c'.repeat(64)}$`, 'm'));
  const counts = await page.locator('ul.compare-counts').innerText();
  for (const line of ['1 Duniverse directories removed', '1 New duniverse directories installed', '1 Duniverse directories with content changes', '1 Opam packages with version changes']) assert.match(counts, new RegExp(line));
  await shoot(page, 'compare-duniverse');
});

test('text artifacts open in the browser; the 404 page has the navigation and the search box', async () => {
  const r = await page.goto(`${url}/job/${UNI}/build/${id(uni.u1)}/f/opam-switch`);
  assert.equal(r?.headers()['content-type'], 'text/plain; charset=utf-8');
  assert.match(await page.locator('body').innerText(), /x-mirage-opam-lock-location/);
  await page.goto(`${url}/job/${UNI}/build/${id(uni.u1)}/f/build-environment`);
  assert.match(await page.locator('body').innerText(), /SOURCE_DATE_EPOCH=1700000000/);
  const missing = await page.goto(`${url}/no/such/page`);
  assert.equal(missing?.status(), 404);
  assert.match(await page.locator('main').innerText(), /This page does not exist/);
  assert.equal(await page.locator('form.search input[name=sha256]').count(), 1);
  assert.equal(await page.locator('header nav').getByRole('link', { name: 'Jobs' }).count(), 1);
  await shoot(page, 'not-found');
});

test('failed builds filter by platform, and say so when there are none', async () => {
  await page.goto(`${url}/failed-builds?platform=debian-12`);
  assert.match(await page.locator('main').innerText(), /broken/);
  await page.goto(`${url}/failed-builds?platform=freebsd-14`);
  assert.match(await page.locator('h1').innerText(), /No failed builds to list/);
  await shoot(page, 'failed-empty');
});

test('the remaining pages render at both widths', async () => {
  await page.goto(`${url}/all-builds`);
  assert.match(await page.locator('main').innerText(), /dns-resolver/);
  await shoot(page, 'all-builds');
  await page.goto(`${url}/job/broken/failed`);
  assert.match(await page.locator('main').innerText(), /exited 2/);
  await shoot(page, 'job-failed');
  await page.goto(`${url}/job/broken/build/${id(builds.failed)}`);
  assert.match(await page.locator('dd.fail').innerText(), /exited 2/);
  assert.match(await page.locator('main').innerText(), /No other successful build to compare with/);
  assert.match(await (await page.request.get(`${url}/job/broken/build/${id(builds.failed)}/console`)).text(), /error: it broke/);
  await shoot(page, 'build-failed');
  await page.goto(`${url}/live`);
  assert.match(await page.locator('main').innerText(), /without a scheduler/);
  await shoot(page, 'live-none');
});
