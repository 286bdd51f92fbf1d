// The web commands as a user runs them: builder user/access/vacuum on a data directory, builder web serving it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { encodeExec } from '../src/protocol/exec-codec.ts';
import { uuidToString } from '../src/protocol/uuid.ts';
import { basic, http, makeExec } from './helpers/web-fixtures.ts';

import { BIN } from './helpers/cli-process.ts'; // rebuilds dist/ if a source changed

async function builder(args: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  child.stdin.end(stdin);
  const [code] = (await once(child, 'exit')) as [number];
  return { code, stdout, stderr };
}

test('builder user and access manage upload accounts', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'builder-web-cli-'));
  try {
    const d = `--dir=${dir}`;
    // restricted unless --unrestricted, as builder-db's user-add
    assert.equal((await builder(['user', d, 'add', 'alice'], 'pw-alice\n')).code, 0);
    assert.equal((await builder(['user', d, 'add', 'bob', '--unrestricted', '--password=pw-bob'])).code, 0);
    assert.equal((await builder(['user', d, 'add', 'carol', '--restricted', '--unrestricted', '--password=x'])).code, 2);
    const dup = await builder(['user', d, 'add', 'bob', '--password=x']);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /exists/);
    assert.equal((await builder(['access', d, 'add', 'alice', 'job-a'])).code, 0);
    assert.equal((await builder(['user', d, 'disable', 'bob'])).code, 0);
    const list = JSON.parse((await builder(['user', d, 'list', '--json'])).stdout);
    assert.deepEqual(
      list.map((u: { name: string; restricted: boolean; disabled: boolean; access: string[] }) => [u.name, u.restricted, u.disabled, u.access]),
      [
        ['alice', true, false, ['job-a']],
        ['bob', false, true, []],
      ],
    );
    assert.equal((await builder(['access', d, 'remove', 'alice', 'job-a'])).code, 0);
    assert.equal((await builder(['access', d, 'remove', 'alice', 'job-a'])).code, 1);
    assert.equal((await builder(['user', d, 'remove', 'bob'])).code, 0);
    assert.match((await builder(['user', d, 'list'])).stdout, /^alice\trestricted\n$/);
    assert.equal((await builder(['user', d, 'frobnicate', 'x'])).code, 2);
    assert.equal((await builder(['vacuum', d, 'sometimes', '3'])).code, 2);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('builder web serves uploads; builder vacuum removes builds and keeps their hashes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'builder-web-cli-'));
  let web: ChildProcess | undefined;
  try {
    assert.equal((await builder(['user', `--dir=${dir}`, 'add', 'up', '--unrestricted', '--password=pw'])).code, 0);
    // --expired-jobs 0: every job on / however old its latest build
    web = spawn(process.execPath, [BIN, 'web', '--port=0', `--dir=${dir}`, `--config-dir=${join(dir, 'etc')}`, '--expired-jobs', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      web!.stdout!.on('data', (d: Buffer) => {
        out += d;
        const m = out.match(/listening on (http:\S+)/);
        if (m) resolve(m[1]!);
      });
      web!.once('exit', (code) => reject(new Error(`builder web exited ${code}`)));
    });
    const old = makeExec({ started: new Date(Date.UTC(2024, 0, 1)), files: { 'bin/app': 'old app' } });
    const fresh = makeExec({ started: new Date(Date.UTC(2024, 0, 2)), files: { 'bin/app': 'new app' } });
    for (const e of [old, fresh]) {
      const r = await http(`${url}/upload`, { method: 'POST', body: encodeExec(e), headers: { Authorization: basic('up', 'pw') } });
      assert.equal(r.status, 201);
    }
    assert.match((await http(`${url}/`)).body.toString(), /href="\/job\/hello"/);
    const planned = await builder(['vacuum', `--dir=${dir}`, '--dry-run', 'except-latest', '1']);
    assert.match(planned.stdout, new RegExp(`would remove hello debian-12 ${uuidToString(old.uuid)}`));
    const done = await builder(['vacuum', `--dir=${dir}`, '--job=hello', 'except-latest', '1']);
    assert.equal(done.code, 0);
    assert.match(done.stdout, /1 build removed/);
    const oldHash = createHash('sha256').update('old app').digest('hex');
    const found = await http(`${url}/hash?sha256=${oldHash}`);
    assert.equal(found.status, 302);
    assert.equal(found.headers.location, `/job/hello/build/${uuidToString(old.uuid)}`);
    assert.match((await http(`${url}${found.headers.location}`)).body.toString(), /removed by retention/);
    assert.equal((await http(`${url}/job/hello/build/${uuidToString(old.uuid)}/f/bin/app`)).status, 404);
    assert.equal((await http(`${url}/job/hello/build/latest/f/bin/app`)).status, 307);
    web.kill('SIGTERM');
    const [code] = (await once(web, 'exit')) as [number];
    assert.equal(code, 0);
    web = undefined;
  } finally {
    web?.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
