// --upload: results POSTed with HTTP Basic credentials from the URL to a builder-web compatible
// /upload (our own web frontend, in another server). A failed upload stays in the durable outbox
// and is retried with backoff, across a restart, until it lands.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { uuidToString } from '../src/protocol/uuid.ts';
import { TestClock } from '../src/scheduler/clock.ts';
import { attachParts } from '../src/server/attach-parts.ts';
import { UserStore } from '../src/web/users.ts';
import { outcome, startFixture, workerRequest, type Fixture } from './helpers/server-fixture.ts';
import { freePort } from './helpers/server-process.ts';

const fixtures: Fixture[] = [];
after(async () => {
  for (const f of fixtures.reverse()) await f.close();
});

async function until(what: string, check: () => boolean | Promise<boolean>, clock?: TestClock): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    if (clock) {
      clock.advance(0);
      await clock.settle();
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`timed out waiting: ${what}`);
}

test('a result is uploaded to a builder-web /upload; when it is down, the outbox retries after a restart', async () => {
  const webPort = await freePort();
  const clock = new TestClock(Date.UTC(2025, 0, 1));
  const upload = `http://uploader:s3cret@127.0.0.1:${webPort}/upload`;
  const sender = await startFixture({ clock, upload });
  fixtures.push(sender);

  // The receiving side is not up yet: the first attempt fails and is kept.
  assert.deepEqual(await outcome(sender.port, { type: 'schedule', period: 'never', job: { type: 'script', name: 'up', script: 'true', platform: 'u' } }), { type: 'success' });
  const w = await workerRequest(sender.port, 'u');
  const js = await w.job();
  const uuid = uuidToString(js.uuid);
  await w.sock.send({ type: 'job-finished', uuid: js.uuid, result: { type: 'exited', code: 0 }, files: [{ path: 'bin/tool', data: new Uint8Array([1, 2, 3, 4]) }] });
  await w.sock.closed;
  await until('the first upload attempt failed', () => sender.server.outbox.pending().some((e) => e.attempts === 1), clock);
  const failed = sender.server.outbox.pending()[0]!;
  assert.match(failed.lastError ?? '', /ECONNREFUSED|fetch failed|connect/i);

  // Restart the sender: the outbox entry is durable.
  await sender.restart();
  assert.equal(sender.server.outbox.pending().length, 1);

  // Start the receiver: a second builder server whose web frontend takes uploads.
  const receiver = await startFixture({ attach: (s) => attachParts(s, { web: { host: '127.0.0.1', port: webPort } }) });
  fixtures.push(receiver);
  await new UserStore(receiver.server.persistence.root).add('uploader', 's3cret');

  clock.advance(failed.nextAttemptAt - clock.now());
  await until('the upload landed', () => sender.server.outbox.pending().length === 0, clock);
  const res = await fetch(`http://127.0.0.1:${webPort}/job/up/build/${uuid}`, { headers: { accept: 'application/json' } });
  assert.equal(res.status, 200);
  const body = JSON.stringify(await res.json());
  assert.ok(body.includes('bin/tool'), body.slice(0, 300));
});
