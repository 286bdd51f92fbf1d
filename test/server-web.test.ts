// The web frontend inside the real builder server: a running job's console streams into the page
// in real Chromium, its lifecycle is drawn from the job-run machine, and the finished job lands in
// the web store without an HTTP round trip.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { attachParts, type AttachedParts } from '../src/server/attach-parts.ts';
import { uuidToString } from '../src/protocol/uuid.ts';
import { enc, outcome, startFixture, workerRequest, type Fixture } from './helpers/server-fixture.ts';
import { launchChromium, type Browser } from './helpers/web-browser.ts';
import { shoot } from './helpers/web-screenshots.ts';

let fx: Fixture;
let parts: AttachedParts;
let browser: Browser;
let url: string;



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

test('the live page shows the schedule, queues and a running job whose console streams in', async () => {
  assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'daily', job: { type: 'script', name: 'webbed', script: 'make all', platform: 'debian-12' } }), { type: 'success' });
  assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'weekly', job: { type: 'script', name: 'waiting-one', script: 'true', platform: 'debian-12' } }), { type: 'success' });
  const w = await workerRequest(fx.port, 'debian-12');
  const js = await w.job();
  const uuid = uuidToString(js.uuid);
  await w.sock.send({ type: 'output', uuid: js.uuid, line: enc('compiling part one') });

  const page = await browser.context.newPage();
  await page.goto(`${url}/live`);
  const text = await page.locator('main').innerText();
  assert.match(text, /webbed/);
  assert.match(text, /waiting-one/);
  assert.match(text, /debian-12/);
  await shoot(page, 'live');

  await page.goto(`${url}/live/${uuid}`);
  await page.locator('#console', { hasText: 'compiling part one' }).waitFor();
  await w.sock.send({ type: 'output', uuid: js.uuid, line: enc('linking arrives live') });
  await page.locator('#console', { hasText: 'linking arrives live' }).waitFor();
  const lifecycle = await page.locator('main').innerText();
  assert.match(lifecycle, /waiting/);
  assert.match(lifecycle, /assigned/);
  assert.match(lifecycle, /running/);
  await shoot(page, 'live-job');
  assert.equal(fx.server.supervisor.consoleOf(uuid)!.observerCount(), 1, 'the page is subscribed');

  await w.sock.send({ type: 'job-finished', uuid: js.uuid, result: { type: 'exited', code: 0 }, files: [{ path: 'bin/webbed', data: enc('\x7fELF binary') }] });
  await page.locator('#status', { hasText: 'finished: exited 0' }).waitFor();
  await w.sock.closed;

  // The finished job is in the web store: its build page lists the artifact with its hash.
  for (let i = 0; i < 100; i++) {
    const r = await fetch(`${url}/job/webbed/build/${uuid}`);
    if (r.status === 200) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  await page.goto(`${url}/job/webbed/build/${uuid}`);
  const build = await page.locator('main').innerText();
  assert.match(build, /bin\/webbed/);
  assert.match(build, /[0-9a-f]{64}/);
  assert.match(build, /done/, 'the lifecycle drawn on the build page reaches done');
  await shoot(page, 'build-lifecycle');
  await page.close();
});

test('leaving the page of a running job ends its console subscription', async () => {
  assert.deepEqual(await outcome(fx.port, { type: 'schedule', period: 'daily', job: { type: 'script', name: 'left', script: 'sleep 1', platform: 'leave' } }), { type: 'success' });
  const w = await workerRequest(fx.port, 'leave');
  const js = await w.job();
  const uuid = uuidToString(js.uuid);
  const page = await browser.context.newPage();
  await page.goto(`${url}/live/${uuid}`);
  const console = fx.server.supervisor.consoleOf(uuid)!;
  while (console.observerCount() === 0) await new Promise((r) => setTimeout(r, 20));
  await page.goto(`${url}/`);
  while (console.observerCount() !== 0) await new Promise((r) => setTimeout(r, 20));
  await page.close();
  w.sock.destroy();
});
