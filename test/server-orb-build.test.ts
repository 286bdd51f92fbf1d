// Issue 15.12 (sub-point): an orb-build job and a platform without orb-build.template.<platform>. The
// job is queued there as the original does (its info shows it so), `execute` on that platform fails at
// once with a Failure naming the missing template file; with the template it is executed.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import type { Cmd } from '../src/protocol/types.ts';
import { outcome, startFixture } from './helpers/server-fixture.ts';

test('orb-build on a platform without a template: queued as the original does, execute fails at once naming the template', async () => {
  const fx = await startFixture();
  try {
    const queued = (platform: string) => fx.server.supervisor.info().queues.find((q) => q.platform === platform)?.jobs.map((j) => j.name) ?? [];
    assert.equal((await outcome(fx.port, { type: 'schedule', period: 'daily', job: { type: 'script', name: 's1', script: 'true', platform: 'nt' } })).type, 'success');
    assert.deepEqual(queued('nt'), ['s1']);
    assert.equal((await outcome(fx.port, { type: 'schedule-orb-build', period: 'daily', job: { type: 'orb-build', name: 'o1', opamPackage: 'pkg' } })).type, 'success');
    assert.deepEqual(queued('nt'), ['s1', 'o1'], 'queued on every platform, as the original does');
    const template = path.join(fx.dir, 'etc', 'orb-build.template.nt');
    const r = await outcome(fx.port, { type: 'execute', name: 'o1', platform: 'nt' });
    assert.equal(r.type, 'failure');
    assert.equal((r as Extract<Cmd, { type: 'failure' }>).message, `execute failed: no orb-build template for platform nt: ${template}`);
    const all = await outcome(fx.port, { type: 'execute', name: 'o1' });
    assert.match((all as Extract<Cmd, { type: 'failure' }>).message, /^execute failed: no platform has an orb-build template/);
    await mkdir(path.dirname(template), { recursive: true });
    await writeFile(template, 'build %%OPAM_PACKAGE%%\n');
    assert.equal((await outcome(fx.port, { type: 'execute', name: 'o1', platform: 'nt' })).type, 'success');
    assert.deepEqual(queued('nt'), ['o1', 's1']);
  } finally {
    await fx.close();
  }
});
