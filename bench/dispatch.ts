// Dispatch with real worker processes, as a user runs them: a `builder server` process with N jobs running `true`
// already queued, then two `builder worker --loop` processes (process sandbox), and the same with the Docker
// sandbox beside a bare `docker run` of the same image, and the original builder-worker (one job per process).
// Prints jobs/s and the per-job cycle broken into its parts (from the workers' --timings lines), each beside its goal.
// BENCH_QUICK=1: fewer jobs.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Job } from '../src/protocol/types.ts';
import { openStorePersistence } from '../src/server/store-persistence.ts';
import { newScheduleEntry, type Change } from '../src/server/persistence.ts';
import { builderBin, freePort, spawnServer } from '../test/helpers/server-process.ts';
import { percentile } from './percentile.ts';

const quick = process.env.BENCH_QUICK === '1';
const IMAGE = process.env.BENCH_IMAGE ?? 'builder-busybox:latest';
const ORIGINAL_WORKER = path.resolve(import.meta.dirname, '..', '..', 'shared', 'peer', 'bin', 'builder-worker');
const PLATFORM = 'bench';
const fmt = (n: number, d = 1) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function seed(dir: string, n: number): Promise<void> {
  const p = await openStorePersistence(dir);
  const now = Date.now();
  const change: Change = { putSchedule: [], queue: [], createQueue: [PLATFORM] };
  for (let i = 0; i < n; i++) {
    const job: Job = { type: 'script', name: `d-${i}`, script: 'true\n', platform: PLATFORM };
    change.putSchedule!.push(newScheduleEntry(job, { type: 'period', period: 'never' }, null, now, { timeoutSeconds: 3600 }));
    change.queue!.push({ op: 'push-back', platform: PLATFORM, job });
  }
  await p.commit(change);
  await p.close();
}

interface Finished {
  at: number;
  phases: Record<string, number>;
}

/** A looping worker process; every "finished" line is recorded with the time we read it and its --timings phases. */
function startWorker(port: number, args: string[], done: Finished[], onDone: () => void): ChildProcess {
  const child = spawn(process.execPath, [builderBin, 'worker', PLATFORM, '-r', `127.0.0.1:${port}`, '--loop', '--timings', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let buf = '';
  child.stderr!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const m = /: timings (.*)$/.exec(line);
      if (!m) continue;
      const phases: Record<string, number> = {};
      for (const part of m[1]!.split(' ')) {
        const [k, v] = part.split('=');
        phases[k!] = Number(v);
      }
      done.push({ at: performance.now(), phases });
      onDone();
    }
  });
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

interface Run {
  jobsPerSecond: number;
  finished: Finished[];
}

/** n queued jobs, `workers` looping workers; jobs/s from the first job's end to the last one's (worker start-up excluded). */
async function ours(n: number, workers: number, args: string[]): Promise<Run> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-dispatch-'));
  await seed(dir, n);
  const port = await freePort();
  const server = await spawnServer(dir, port);
  const finished: Finished[] = [];
  let resolveAll!: () => void;
  const all = new Promise<void>((r) => (resolveAll = r));
  const children: ChildProcess[] = [];
  try {
    for (let i = 0; i < workers; i++) children.push(startWorker(port, args, finished, () => finished.length >= n && resolveAll()));
    await all;
    const span = (finished[n - 1]!.at - finished[0]!.at) / 1000;
    return { jobsPerSecond: (n - 1) / span, finished };
  } finally {
    await Promise.all(children.map(stop));
    await server.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
}

/** The original worker: one job per process, `workers` loops of it side by side. */
async function original(n: number, workers: number): Promise<number> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-dispatch-'));
  await seed(dir, n);
  const port = await freePort();
  const server = await spawnServer(dir, port);
  let left = n;
  try {
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: workers }, async () => {
        while (left-- > 0) {
          await new Promise<void>((resolve, reject) => {
            const c = spawn(ORIGINAL_WORKER, ['-r', `127.0.0.1:${port}`, PLATFORM], { stdio: 'ignore' });
            c.once('error', reject);
            c.once('exit', () => resolve());
          });
        }
      }),
    );
    return n / ((performance.now() - t0) / 1000);
  } finally {
    await server.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
}

function breakdown(finished: Finished[], goals: Record<string, string> = {}): void {
  const names = Object.keys(finished[0]?.phases ?? {});
  for (const name of names) {
    const values = finished.map((f) => f.phases[name]!).sort((a, b) => a - b);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    console.log(`  ${name.padEnd(9)} mean ${fmt(mean, 2).padStart(7)} ms  p50 ${fmt(percentile(values, 50), 2).padStart(7)}  p99 ${fmt(percentile(values, 99), 2).padStart(7)}${goals[name] ? `   ${goals[name]}` : ''}`);
  }
}

const n = quick ? 200 : 1000;
const proc = await ours(n, 2, ['--sandbox', 'process']);
console.log(`process sandbox, 2 looping workers, ${n} jobs running true: ${fmt(proc.jobsPerSecond)} jobs/s (goal ≥ 150)`);
console.log('  per-job cycle in each worker (ms):');
breakdown(proc.finished, { cycle: 'goal ≤ 13 ms per worker (2 workers ≥ 150 jobs/s)' });
const one = await ours(quick ? 100 : 300, 1, ['--sandbox', 'process']);
console.log(`process sandbox, 1 looping worker: ${fmt(one.jobsPerSecond)} jobs/s`);

if (existsSync(ORIGINAL_WORKER)) {
  const on = quick ? 20 : 50;
  console.log(`original builder-worker (one job per process; its ~40 ms Nagle and delayed ACK on loopback included), 2 side by side, ${on} jobs: ${fmt(await original(on, 2))} jobs/s`);
}

const dockerOk = spawnSync('docker', ['image', 'inspect', IMAGE], { stdio: 'ignore' }).status === 0;
if (!dockerOk) {
  console.log(`docker sandbox: skipped (no docker or no image ${IMAGE})`);
} else {
  const dn = quick ? 10 : 30;
  const bare: number[] = [];
  for (let i = 0; i < dn; i++) {
    const t0 = performance.now();
    spawnSync('docker', ['run', '--rm', '--network', 'none', IMAGE, 'true'], { stdio: 'ignore' });
    bare.push(performance.now() - t0);
  }
  bare.sort((a, b) => a - b);
  const bareMs = percentile(bare, 50);
  const docker = await ours(dn, 1, ['--sandbox', 'docker', '--image', IMAGE]);
  const cycles = docker.finished.map((f) => f.phases.cycle!).sort((a, b) => a - b);
  const cycleMs = percentile(cycles, 50);
  console.log(`docker sandbox, 1 looping worker, ${dn} jobs: ${fmt(docker.jobsPerSecond)} jobs/s; cycle p50 ${fmt(cycleMs)} ms vs bare \`docker run --rm\` p50 ${fmt(bareMs)} ms: ${fmt((100 * (cycleMs - bareMs)) / bareMs)}% above (goal ≤ 20%)`);
  breakdown(docker.finished, { cycle: `goal ≤ ${fmt(bareMs * 1.2)} ms (bare docker run + 20%)` });
}
