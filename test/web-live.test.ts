// The live page of a job run inside the real builder server, in real Chromium: when the run ends,
// the heading says so and links to the stored build (also on a fresh load); the finished run's
// lifecycle bar no longer grows with the clock; short steps do not overlap and the last one stays
// inside the bar.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { attachParts, type AttachedParts } from '../src/server/attach-parts.ts';
import { uuidToString } from '../src/protocol/uuid.ts';
import { lifecycleLayout } from '../src/web/view-lifecycle.ts';
import { liveJobPage } from '../src/web/view-live.ts';
import { enc, outcome, startFixture, workerRequest, type Fixture } from './helpers/server-fixture.ts';
import { launchChromium, type Browser } from './helpers/web-browser.ts';
import { shoot } from './helpers/web-screenshots.ts';

let fx: Fixture;
let parts: AttachedParts;
let browser: Browser;
let url: string;


/** The bar's rectangles as [x, width] in percent. */
async function bar(page: Page): Promise<[number, number][]> {
  return page.locator('.lifecycle rect').evaluateAll((rs) => rs.map((r) => [Number(r.getAttribute('x')), Number(r.getAttribute('width'))] as [number, number]));
}

function assertTiled(rects: [number, number][]): void {
  assert.ok(rects.length >= 2, JSON.stringify(rects));
  for (let i = 1; i < rects.length; i++) {
    const [x0, w0] = rects[i - 1]!;
    assert.ok(x0 + w0 <= rects[i]![0] + 0.002, `step ${i - 1} overlaps step ${i}: ${JSON.stringify(rects)}`);
  }
  const [xl, wl] = rects[rects.length - 1]!;
  assert.ok(xl + wl <= 100.002, `the last step leaves the bar: ${JSON.stringify(rects)}`);
}

before(async () => {
  fx = await startFixture({
    attach: async (s) => {
      parts = await attachParts(s, { web: { host: '127.0.0.1', port: 0 } });
      return parts;
    },
  });
  url = parts.web!.url.replace(/\/$/, '');
  browser = await launchChromium();
});
after(async () => {
  await browser.close();
  await fx.close();
});

test('when a run ends, its live page says so and links to the stored build', async () => {
  assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'daily', job: { type: 'script', name: 'ending', script: 'make', platform: 'debian-12' } }), { type: 'success' });
  const w = await workerRequest(fx.port, 'debian-12');
  const js = await w.job();
  const uuid = uuidToString(js.uuid);
  await w.sock.send({ type: 'output', uuid: js.uuid, line: enc('building') });
  const page = await browser.context.newPage();
  await page.goto(`${url}/live/${uuid}`);
  await page.locator('#console', { hasText: 'building' }).waitFor();
  assert.match(await page.locator('h1').innerText(), /ending running/);
  assertTiled(await bar(page));

  await w.sock.send({ type: 'job-finished', uuid: js.uuid, result: { type: 'exited', code: 0 }, files: [{ path: 'bin/ending', data: enc('\x7fELF') }] });
  await page.locator('h1', { hasText: 'ending finished' }).waitFor();
  await w.sock.closed;
  // the open page links to the build the run leaves in the store
  const link = page.locator('#stored').getByRole('link', { name: 'the stored build' });
  assert.equal(await link.getAttribute('href'), `/job/ending/build/${uuid}`);
  // the open page takes the final lifecycle from the server: the bar ends with the final state
  await page.locator('#lifecycle li', { hasText: 'done' }).waitFor();
  assertTiled(await bar(page));
  // and, once the build is stored, its facts (the platform and start kept meanwhile)
  assert.match(await page.locator('#facts').innerText(), /Platform\s+debian-12/);
  await page.locator('#facts dt', { hasText: /^Finished$/ }).waitFor();
  assert.match(await page.locator('h1').innerText(), /ending finished \(done\)/);
  assert.match(await page.locator('#facts').innerText(), /Platform\s+debian-12/);
  await shoot(page, 'live-ended');

  // a fresh load after the end: the heading and the link come from the server
  for (let i = 0; i < 200 && (await fetch(`${url}/job/ending/build/${uuid}`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 25));
  await page.goto(`${url}/live/${uuid}`);
  assert.match(await page.locator('h1').innerText(), /ending finished \(done\)/);
  assert.match(await page.locator('#status').innerText(), /finished: exited 0/);
  // the facts come from the stored build once the scheduler has let go of the run
  const facts = await page.locator('#facts').innerText();
  assert.match(facts, /Platform\s+debian-12/);
  assert.match(facts, /Started/);
  assert.match(facts, /Finished/);
  assertTiled(await bar(page));
  await shoot(page, 'live-ended-reloaded');
  await page.locator('#stored').getByRole('link', { name: 'the stored build' }).click();
  await page.waitForURL(`${url}/job/ending/build/${uuid}`);
  assert.match(await page.locator('main').innerText(), /bin\/ending/);
  await page.close();
});

test("a finished run's bar does not grow with the clock; short steps do not overlap", () => {
  const t0 = Date.UTC(2026, 0, 1);
  const steps = [
    { state: 'waiting', at: t0 },
    { state: 'assigned', at: t0 + 3 },
    { state: 'running', at: t0 + 5 },
    { state: 'done', at: t0 + 60_000 },
  ];
  const data = { uuid: '00000000-0000-4000-8000-000000000000', running: null, lifecycle: steps, build: null };
  const rects = (html: string) => [...html.matchAll(/<rect x="([\d.]+)" y="0" width="([\d.]+)"/g)].map((m) => [Number(m[1]), Number(m[2])] as [number, number]);
  const soon = liveJobPage(data, t0 + 61_000);
  const later = liveJobPage(data, t0 + 86_400_000);
  assert.deepEqual(rects(soon), rects(later));
  assert.match(soon, /finished \(done\)/);
  assertTiled(rects(soon));
  // every step visible, none over another, the bar exactly filled
  const spans = lifecycleLayout(steps, t0 + 86_400_000);
  assert.ok(spans.every((s) => s.w >= 2 - 1e-9));
  assert.ok(Math.abs(spans.at(-1)!.x + spans.at(-1)!.w - 100) < 1e-9);
  // a live run's last step lasts until now
  assert.equal(lifecycleLayout(steps.slice(0, 3), t0 + 20_000).at(-1)!.until, t0 + 20_000);
  assert.equal(lifecycleLayout(steps, t0 + 20_000).at(-1)!.until, t0 + 60_000);
});
