// Issue 15.11: the data directory on a 3 MiB file system, 3,000 schedules. A schedule whose commit
// fails is not in memory (info), not in the store, and its Failure says the disk is full; once space
// is back the server takes changes again without a restart, and after a restart all three agree.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import type { Cmd } from '../src/protocol/types.ts';
import { clientCall, outcome, startFixture, tempDir } from './helpers/server-fixture.ts';

function mountSmall(dir: string): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (e) {
    return `cannot mount a 3 MiB tmpfs (needs root): ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`;
  }
}

async function infoNames(port: number): Promise<string[]> {
  const r = (await clientCall(port, { type: 'info' }))[0] as Extract<Cmd, { type: 'info-reply' }>;
  return r.info.schedule.map((s) => s.job.name).sort();
}

test('3,000 schedules on a 3 MiB disk: memory, store and replies agree; space back, the server works again', async (t) => {
  const mnt = await tempDir('builder-small-disk-');
  const skip = mountSmall(mnt);
  if (skip) return t.skip(skip);
  const filler = path.join(mnt, 'filler');
  await writeFile(filler, Buffer.alloc(1024 * 1024));
  const fx = await startFixture({ dir: path.join(mnt, 'data') });
  try {
    const ok: string[] = [];
    const failed: string[] = [];
    for (let i = 0; i < 3000; i += 100) {
      const batch = Array.from({ length: 100 }, (_, k) => `job-${String(i + k).padStart(4, '0')}`);
      const replies = await Promise.all(batch.map((name) => outcome(fx.port, { type: 'schedule', period: 'daily', job: { type: 'script', name, script: 'echo ' + 'x'.repeat(400), platform: 'p' } })));
      replies.forEach((r, k) => {
        if (r.type === 'success') ok.push(batch[k]!);
        else {
          failed.push(batch[k]!);
          assert.equal(r.type, 'failure');
          assert.match((r as Extract<Cmd, { type: 'failure' }>).message, /^disk full: /);
        }
      });
    }
    assert.ok(failed.length > 0, 'the disk filled up');
    assert.ok(ok.length > 0);
    ok.sort();
    assert.deepEqual(await infoNames(fx.port), ok, 'info lists exactly the schedules told Success');
    const stored = (await fx.server.persistence.load()).schedule.map((e) => e.name).sort();
    assert.deepEqual(stored, ok, 'the store holds exactly the schedules told Success');
    // a worker gets only jobs whose schedule was saved
    const queued = fx.server.supervisor.info().queues.flatMap((q) => q.jobs.map((j) => j.name)).sort();
    assert.deepEqual(queued, ok);

    // unschedule and stop on the full disk: a Failure leaves the job as it was, a Success removes it
    for (const name of ok.slice(0, 20)) {
      const r = await outcome(fx.port, { type: 'unschedule', name });
      if (r.type === 'success') ok.splice(ok.indexOf(name), 1);
      else assert.match((r as Extract<Cmd, { type: 'failure' }>).message, /^disk full: /);
    }
    assert.deepEqual(await infoNames(fx.port), ok);
    assert.deepEqual((await fx.server.persistence.load()).schedule.map((e) => e.name).sort(), ok);
    assert.deepEqual(fx.server.supervisor.info().queues.flatMap((q) => q.jobs.map((j) => j.name)).sort(), ok);

    await rm(filler);
    assert.equal((await outcome(fx.port, { type: 'schedule', period: 'daily', job: { type: 'script', name: 'space-back', script: 'true', platform: 'p' } })).type, 'success');
    ok.push('space-back');
    ok.sort();
    await fx.restart();
    assert.deepEqual(await infoNames(fx.port), ok, 'after a restart the same schedules are there');
  } finally {
    await fx.server.close().catch(() => {});
    execFileSync('umount', [mnt]);
    await rm(mnt, { recursive: true, force: true });
  }
});
