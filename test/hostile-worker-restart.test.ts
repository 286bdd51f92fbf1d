// The server goes away under a fleet of looping workers: first it is not there at all when they start, then it is
// killed and restarted while one worker runs a job and two wait for one. Every worker must keep retrying, reconnect
// to the new server process and take a job from it; none may exit on its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, startWorkerProcess, type Proc } from './helpers/cli-process.ts';
import { freePort, spawnServer } from './helpers/server-process.ts';

type Worker = Proc & { tmp: string };

/** A job that announces itself and then waits for the go file, so it holds its worker until the test lets go. */
function waitingScript(name: string, go: string): string {
  return `echo ${name} running\nwhile [ ! -e ${go} ]; do sleep 0.05; done\n`;
}

async function schedule(remote: string, dir: string, name: string, script: string): Promise<void> {
  const file = join(dir, `${name}.sh`);
  await writeFile(file, script);
  const r = await runCli(['schedule', name, 'test', file, '--period', 'never', '-r', remote]);
  assert.equal(r.status, 0, r.stderr);
}

/** Counts matches of pattern in the worker's stderr after offset. */
function countAfter(w: Worker, offset: number, pattern: RegExp): number {
  return [...w.stderr.slice(offset).matchAll(new RegExp(pattern.source, 'g'))].length;
}

async function waitUntil(what: string, ok: () => boolean, workers: Worker[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!ok()) {
    for (const w of workers) if (w.child.exitCode !== null) throw new Error(`a worker exited (${w.child.exitCode}) while waiting for ${what}:\n${w.stderr}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${workers.map((w) => w.stderr).join('\n---\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('looping workers outlive an absent server and a server restart, idle and mid-job, and take jobs again', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'builder-restart-'));
  const port = await freePort();
  const remote = `127.0.0.1:${port}`;
  const workers: Worker[] = [];
  let server: Awaited<ReturnType<typeof spawnServer>> | undefined;
  try {
    for (let i = 0; i < 3; i++) workers.push(await startWorkerProcess('test', remote));
    // Nothing listens yet: each worker must fail, wait out its backoff, and try again (twice at least).
    await waitUntil('two failed attempts per worker', () => workers.every((w) => countAfter(w, 0, /cannot reach .*retrying in \d+ ms/) >= 2), workers);

    server = await spawnServer(join(dir, 'data'), port);
    await schedule(remote, dir, 'mid', waitingScript('mid', join(dir, 'go-mid')));
    await waitUntil('the job mid to start', () => workers.some((w) => /job mid \S+: started/.test(w.stderr)), workers);

    const beforeKill = workers.map((w) => w.stderr.length);
    await server.kill('SIGKILL');
    await waitUntil('every worker to notice the server is gone', () => workers.every((w, i) => countAfter(w, beforeKill[i]!, /(connection lost|cannot reach).*retrying in/) >= 1), workers);
    const midWorker = workers.find((w, i) => /job mid \S+: killed/.test(w.stderr.slice(beforeKill[i])));
    assert.ok(midWorker, 'the worker running mid said its job was killed with the connection');

    server = await spawnServer(join(dir, 'data'), port);
    const afterRestart = workers.map((w) => w.stderr.length);
    for (const name of ['after-1', 'after-2', 'after-3']) await schedule(remote, dir, name, waitingScript(name, join(dir, 'go-after')));
    // Each job holds its worker until the go file exists, so every one of the three must have taken a job.
    await waitUntil('every worker to take a job from the restarted server', () => workers.every((w, i) => countAfter(w, afterRestart[i]!, /job \S+ \S+: started/) >= 1), workers);

    await writeFile(join(dir, 'go-mid'), '');
    await writeFile(join(dir, 'go-after'), '');
    await waitUntil('the jobs to finish', () => workers.every((w, i) => countAfter(w, afterRestart[i]!, /job \S+ \S+: finished, exited 0/) >= 1), workers);
    for (const w of workers) {
      w.child.kill('SIGTERM');
      assert.deepEqual(await w.exited, { status: 0, signal: null }, w.stderr);
    }
  } finally {
    for (const w of workers) {
      if (w.child.exitCode === null) w.child.kill('SIGKILL');
      await w.exited;
      await rm(w.tmp, { recursive: true, force: true });
    }
    await server?.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
