// Issue 13 points 1 and 3, as a user meets the program: a command's start (`builder --help`, `builder info`
// against a local server with 10 jobs) and a server's restart (process start to the first accepted
// connection) on a small store and at 100k jobs, each beside its goal and the machine's floor (`node -e 0`;
// a Node process that only listens). Medians of 10 command runs, of 5 restarts (3 at 100k).
// BENCH_QUICK=1: 10k instead of 100k jobs for the large restart.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { call } from '../src/cli/client/session.ts';
import { builderBin, freePort } from '../test/helpers/server-process.ts';
import { percentile } from './percentile.ts';
import { seedStore } from './seed-store.ts';
import { spawnBuilderServer, spawnUntilListening } from './server-spawn.ts';

const quick = process.env.BENCH_QUICK === '1';
const big = quick ? 10_000 : 100_000;
const ORIGINAL_CLIENT = path.resolve(import.meta.dirname, '..', '..', 'shared', 'peer', 'bin', 'builder-client');
const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const verdict = (value: number, goal: number) => (value <= goal ? 'met' : 'NOT met');

/** Median wall time of running argv to its end, `runs` times after one unmeasured run. */
function medianRun(argv: string[], runs = 10): number {
  const times: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
    if (i > 0) times.push(ms);
  }
  return percentile(times, 50);
}

async function commands(): Promise<void> {
  const floor = medianRun([process.execPath, '-e', '0']);
  const help = medianRun([process.execPath, builderBin, '--help']);
  const dir = await mkdtemp(path.join(tmpdir(), 'builder-bench-cli-'));
  const server = await spawnBuilderServer(dir);
  try {
    const remote = { host: '127.0.0.1', port: server.port };
    for (let i = 0; i < 10; i++) await call(remote, { type: 'schedule', period: 'daily', job: { type: 'script', name: `job-${i}`, script: 'true\n', platform: 'bench' } });
    const info = medianRun([process.execPath, builderBin, 'info', '-r', `127.0.0.1:${server.port}`]);
    console.log(`floor: node -e 0 ${fmt(floor)} ms (median of 10)`);
    console.log(`builder --help: ${fmt(help)} ms (goal <= 150 ms: ${verdict(help, 150)}; ${fmt(help - floor)} ms above the floor)`);
    console.log(`builder info, local server with 10 jobs: ${fmt(info)} ms (goal <= 200 ms: ${verdict(info, 200)}; ${fmt(info - floor)} ms above the floor)`);
    if (existsSync(ORIGINAL_CLIENT)) {
      try {
        const original = medianRun([ORIGINAL_CLIENT, 'info', '-r', `127.0.0.1:${server.port}`]);
        console.log(`  the original builder-client info against our server: ${fmt(original, 1)} ms`);
      } catch (e) {
        console.log(`  the original builder-client did not run here: ${(e as Error).message.split('\n')[0]}`);
      }
    }
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A Node process that does nothing but listen: what any Node server pays before it can accept. */
async function listenFloor(): Promise<number> {
  const dir = await mkdtemp(path.join(tmpdir(), 'builder-bench-listen-'));
  const script = path.join(dir, 'listen.mjs');
  await writeFile(script, "import net from 'node:net';\nnet.createServer(() => {}).listen(Number(process.argv[2]), '127.0.0.1');\n");
  const times: number[] = [];
  try {
    for (let i = 0; i < 5; i++) {
      const port = await freePort();
      const s = await spawnUntilListening([script, String(port)], port);
      times.push(s.readyMs);
      await s.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return percentile(times, 50);
}

async function restart(jobs: number, runs: number): Promise<number> {
  const dir = await mkdtemp(path.join(tmpdir(), 'builder-bench-restart-'));
  try {
    await seedStore(dir, jobs);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const s = await spawnBuilderServer(dir);
      times.push(s.readyMs);
      await s.stop();
    }
    return percentile(times, 50);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

console.log('# start-up (issue 13.1) and restart (13.3), from process start, as a user runs them');
console.log(`# load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} CPUs: every figure here rises with it`);
await commands();
const floor = await listenFloor();
console.log(`floor: a Node process that only listens, spawn to first connection ${fmt(floor)} ms (median of 5)`);
const small = await restart(10, 5);
console.log(`restart, 10 jobs: ${fmt(small)} ms from process start to the first accepted connection (goal <= 300 ms: ${verdict(small, 300)})`);
const large = await restart(big, 3);
console.log(`restart, ${fmt(big)} jobs: ${fmt(large)} ms (goal <= 1,000 ms at 100k: ${quick ? 'measured at 100k without BENCH_QUICK' : verdict(large, 1000)})`);
