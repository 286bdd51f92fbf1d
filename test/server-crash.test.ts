// SIGKILL at seeded random moments during a storm of schedules, executes and job results: after every
// restart nothing acknowledged is lost, running jobs are queued again, and no job runs twice at once.
import assert from 'node:assert/strict';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { connect } from '../src/protocol/connect.ts';
import { decodeExec } from '../src/protocol/exec-codec.ts';
import type { Cmd, Info } from '../src/protocol/types.ts';
import { tempDir } from './helpers/server-fixture.ts';
import { freePort, spawnServer } from './helpers/server-process.ts';
import { mulberry32 as prng } from './helpers/prng.ts';

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 50);
const SEED = Number(process.env.CRASH_SEED ?? 20261122);


async function call(port: number, cmd: Cmd): Promise<Cmd[] | undefined> {
  try {
    const sock = await connect('127.0.0.1', port);
    try {
      await sock.send({ type: 'client-hello', kind: 'client', version: 13 });
      if ((await sock.next())?.type !== 'server-hello') return undefined;
      await sock.send(cmd);
      const out: Cmd[] = [];
      for (;;) {
        const r = await sock.next();
        if (!r) return undefined;
        out.push(r);
        if (r.type === 'success' || r.type === 'failure') return out;
      }
    } finally {
      sock.destroy();
    }
  } catch {
    return undefined;
  }
}

async function resultFiles(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const job of await readdir(dir, { withFileTypes: true })) {
    if (!job.isDirectory() || job.name === 'etc') continue;
    let runs;
    try {
      runs = await readdir(path.join(dir, job.name), { withFileTypes: true });
    } catch {
      continue;
    }
    for (const run of runs) {
      if (!run.isDirectory()) continue;
      try {
        const bytes = await readFile(path.join(dir, job.name, run.name, 'full'));
        const exec = decodeExec(new Uint8Array(bytes)); // never a torn file
        out.set(run.name, `${exec.job.name}:${exec.result.type}`);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
  }
  return out;
}

test(`${ROUNDS} SIGKILLs during a storm lose nothing and never run a job twice at once`, { timeout: 600_000 }, async () => {
  const rand = prng(SEED);
  const dir = await tempDir('builder-crash-');
  const port = await freePort();
  const acked = new Set<string>();
  let seenResults = new Map<string, string>();
  let doubleRuns = 0;
  try {
    for (let round = 0; round <= ROUNDS; round++) {
      const server = await spawnServer(dir, port);
      // --- verify what survived the previous kill
      const replies = await call(port, { type: 'info' });
      assert.ok(replies, `info answered after restart ${round}\n${server.output()}`);
      const info = (replies![0] as Extract<Cmd, { type: 'info-reply' }>).info as Info;
      assert.equal(info.running.length, 0, 'runs of the killed server are queued again, not running');
      const scheduled = new Set(info.schedule.map((s) => s.job.name));
      const queued = new Set(info.queues.flatMap((q) => q.jobs.map((j) => j.name)));
      const results = await resultFiles(dir);
      for (const [uuid, what] of seenResults) assert.equal(results.get(uuid), what, `result ${uuid} survived`);
      const finishedNames = new Set([...results.values()].filter((v) => v.endsWith(':exited')).map((v) => v.split(':')[0]!));
      for (const name of acked) {
        assert.ok(scheduled.has(name), `acknowledged schedule of ${name} survived round ${round}`);
        assert.ok(queued.has(name) || finishedNames.has(name), `${name} is queued or has its result (round ${round})`);
      }
      for (const q of info.queues) assert.equal(new Set(q.jobs.map((j) => j.name)).size, q.jobs.length, 'no name twice in a queue');
      seenResults = results;
      if (round === ROUNDS) {
        await server.kill('SIGTERM');
        break;
      }

      // --- the storm
      const holding = new Set<string>();
      let stop = false;
      const clients = Array.from({ length: 3 }, (_, k) =>
        (async () => {
          for (let n = 0; !stop; n++) {
            const name = `r${round}-c${k}-${n}`;
            const r = await call(port, { type: 'schedule', period: rand() < 0.5 ? 'never' : 'daily', job: { type: 'script', name, script: 'true', platform: 'crash' } });
            if (r?.at(-1)?.type === 'success') acked.add(name);
            if (rand() < 0.3 && acked.size > 0) {
              const pick = [...acked][Math.floor(rand() * acked.size)]!;
              await call(port, { type: 'execute', name: pick });
            }
          }
        })(),
      );
      const workers = Array.from({ length: 4 }, () =>
        (async () => {
          while (!stop) {
            let sock;
            try {
              sock = await connect('127.0.0.1', port);
              await sock.send({ type: 'client-hello', kind: 'worker', version: 5 });
              if ((await sock.next())?.type !== 'server-hello') return;
              await sock.send({ type: 'job-requested', platform: 'crash' });
              const js = await sock.next();
              if (js?.type !== 'job-schedule') return;
              if (holding.has(js.job.name)) doubleRuns++;
              holding.add(js.job.name);
              try {
                for (let i = 0; i < 3; i++) await sock.send({ type: 'output', uuid: js.uuid, line: new TextEncoder().encode(`line ${i}`) });
              } finally {
                // the worker's run ends here: with JobFinished sent, or with the connection lost
                holding.delete(js.job.name);
              }
              await sock.send({ type: 'job-finished', uuid: js.uuid, result: { type: 'exited', code: 0 }, files: [{ path: 'out.txt', data: new Uint8Array([1, 2, 3]) }] });
              await sock.closed;
            } catch {
              return;
            } finally {
              sock?.destroy();
            }
          }
        })(),
      );
      await new Promise((r) => setTimeout(r, 80 + Math.floor(rand() * 400)));
      await server.kill('SIGKILL');
      stop = true;
      await Promise.all([...clients, ...workers]);
    }
    assert.equal(doubleRuns, 0, 'no job was handed to two workers at once');
    assert.ok(acked.size > ROUNDS, `the storm scheduled jobs (${acked.size})`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
