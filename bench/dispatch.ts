// Dispatch with real worker processes, as a user runs them: a `builder server` process with N jobs running `true`
// already queued, then two `builder worker --loop` processes (process sandbox), and the same with the Docker
// sandbox beside a bare `docker run` of the same image, and the original builder-worker (one job per process).
// Prints jobs/s and the per-job cycle broken into its parts (from the workers' --timings lines), each beside its goal,
// the CPU time per job of the workers, the job processes and the server, and the machine's floors measured in the
// same run (a spawn of /bin/true from Node, a TCP round trip, one fdatasync), since the host's load moves them all.
// BENCH_QUICK=1: fewer jobs. BENCH_DISPATCH=process: only the two-worker run; BENCH_DISPATCH_JOBS=N: its size;
// BENCH_DISPATCH_WARM=N: the jobs run before it to warm the workers up (default 2,000).
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Job } from '../src/protocol/types.ts';
import { openStorePersistence } from '../src/server/store-persistence.ts';
import { newScheduleEntry, type Change } from '../src/server/persistence.ts';
import { builderBin, freePort, spawnServer } from '../test/helpers/server-process.ts';
import { percentile } from './percentile.ts';
import { cpuOf } from './proc-cpu.ts';

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

type Cpu = { workers: number; jobs: number; server: number };

interface Run {
  jobsPerSecond: number;
  /** the measured jobs (after the warm-up) */
  finished: Finished[];
  /** CPU time per job (ms) between the first measured job's end and the last one's, load-independent where wall time is not. */
  cpu?: Cpu;
  /** the first COLD jobs after the workers' start, when a warm-up ran before the measured ones */
  cold?: { jobs: number; jobsPerSecond: number; cpu: Cpu };
}

/** Jobs reported apart as "right after the workers' start" when the measured ones follow a warm-up. */
const COLD = 1000;

/** Live processes under `root` (the job launcher and whatever runs now), by walking /proc's parent links. */
function descendants(root: number | undefined): number[] {
  if (root === undefined) return [];
  const parent = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = parent.get(ppid) ?? [];
      list.push(Number(name));
      parent.set(ppid, list);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const c of parent.get(pid) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(root);
  return out;
}

/**
 * The job processes' CPU: the workers' reaped children, plus the job launcher (job-launcher.ts) and the children it
 * reaped, which the worker's own counters do not see while the launcher lives.
 */
function cpuTotals(workers: ChildProcess[], server: ChildProcess): Cpu {
  const w = workers.map((c) => cpuOf(c.pid));
  const below = workers.flatMap((c) => descendants(c.pid)).map((pid) => cpuOf(pid));
  const belowCpu = below.reduce((a, c) => a + (Number.isNaN(c.self) ? 0 : c.self + c.children), 0);
  return { workers: w.reduce((a, c) => a + c.self, 0), jobs: w.reduce((a, c) => a + c.children, 0) + belowCpu, server: cpuOf(server.pid).self };
}

/** The CPU per job (ms) between two readings of cpuTotals, `jobs` jobs apart. */
function cpuPer(from: Cpu, to: Cpu, jobs: number): Cpu {
  const per = (k: keyof Cpu) => (to[k] - from[k]) / jobs;
  return { workers: per('workers'), jobs: per('jobs'), server: per('server') };
}

/**
 * n measured jobs, `workers` looping workers; jobs/s from the first measured job's end to the last one's (worker
 * start-up excluded). `warm` jobs run before the measured ones: a looping worker is a daemon, and V8 optimises its
 * per-job code (and the server's) over the first thousand jobs or so; the first COLD of them are reported apart.
 */
async function ours(n: number, workers: number, args: string[], warm = 0): Promise<Run> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-dispatch-'));
  const total = warm + n;
  await seed(dir, total);
  const port = await freePort();
  const server = await spawnServer(dir, port);
  const finished: Finished[] = [];
  let resolveAll!: () => void;
  const all = new Promise<void>((r) => (resolveAll = r));
  const children: ChildProcess[] = [];
  const cold = warm >= COLD ? COLD : 0;
  try {
    const readings = new Map<number, Cpu>();
    for (let i = 0; i < workers; i++)
      children.push(
        startWorker(port, args, finished, () => {
          if (finished.length === 1 || finished.length === cold || finished.length === warm + 1) readings.set(finished.length, cpuTotals(children, server.child));
          if (finished.length >= total) resolveAll();
        }),
      );
    await all;
    const last = cpuTotals(children, server.child);
    const measured = finished.slice(warm, total);
    const rate = (jobs: Finished[]) => (jobs.length - 1) / ((jobs.at(-1)!.at - jobs[0]!.at) / 1000);
    return {
      jobsPerSecond: rate(measured),
      finished: measured,
      cpu: cpuPer(readings.get(warm + 1)!, last, n - 1),
      ...(cold ? { cold: { jobs: cold, jobsPerSecond: rate(finished.slice(0, cold)), cpu: cpuPer(readings.get(1)!, readings.get(cold)!, cold - 1) } } : {}),
    };
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

// BENCH_DISPATCH=process: only the two-worker process-sandbox run (for profiling).
const only = process.env.BENCH_DISPATCH;
interface Floors {
  /** This (small) Node process spawning /bin/true and waiting for its exit and pipes: wall and CPU (parent + child). */
  spawnMs: number;
  spawnCpuMs: number;
  /** connect, one write, one byte back and close, to a Node process doing nothing else; and with one fdatasync. */
  tcpMs: number;
  durableMs: number;
}

/** The machine's own costs for the parts of a cycle, measured now (under the same load as the figures beside them). */
async function floors(): Promise<Floors> {
  const spawns: number[] = [];
  const before = cpuOf(process.pid);
  for (let i = 0; i < 100; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      const c = spawn('/bin/true', [], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let open = 3;
      const done = () => --open === 0 && resolve();
      c.stdout!.on('close', done).resume();
      c.stderr!.on('close', done).resume();
      c.on('exit', done);
    });
    spawns.push(performance.now() - t0);
  }
  const after = cpuOf(process.pid);
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-dispatch-floor-'));
  const child = fork(fileURLToPath(new URL('./tcp-echo-process.ts', import.meta.url)), [dir], { execArgv: ['--import', 'tsx'] });
  try {
    const [bare, durable] = await new Promise<number[]>((resolve) => child.once('message', (m) => resolve(m as number[])));
    const tcp: number[] = [];
    const dur: number[] = [];
    for (let i = 0; i < 100; i++) {
      tcp.push(await exchange(bare!));
      dur.push(await exchange(durable!));
    }
    const p50 = (v: number[]) => percentile([...v].sort((a, b) => a - b), 50);
    return {
      spawnMs: p50(spawns),
      spawnCpuMs: (after.self + after.children - before.self - before.children) / 100,
      tcpMs: p50(tcp),
      durableMs: p50(dur),
    };
  } finally {
    child.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

function exchange(port: number): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1', () => {
      c.setNoDelay(true);
      c.write('hc');
    });
    c.on('data', () => undefined);
    c.on('error', reject);
    c.on('end', () => {
      c.destroy();
      resolve(performance.now() - t0);
    });
  });
}

function printFloors(f: Floors): void {
  // One job's cycle on one worker cannot be shorter than one spawn, a connection with its round trips (hello,
  // JobRequested → Job, JobFinished) and the server's two durable writes (the assignment and the result).
  const cycle = f.spawnMs + 2 * f.tcpMs + 2 * (f.durableMs - f.tcpMs);
  console.log(
    `  floors now: spawn of /bin/true from Node ${fmt(f.spawnMs, 2)} ms (CPU ${fmt(f.spawnCpuMs, 2)} ms); TCP connect+round trip ${fmt(f.tcpMs, 2)} ms; ` +
      `with one fdatasync ${fmt(f.durableMs, 2)} ms → a cycle ≥ ${fmt(cycle, 1)} ms per worker, 2 workers ≤ ${fmt((2 * 1000) / cycle)} jobs/s; ` +
      `CPU alone: ≤ ${fmt((2 * 1000) / f.spawnCpuMs)} jobs/s for bare spawns on 2 idle CPUs`,
  );
}

function printCpu(c: Cpu | undefined, indent = '  '): void {
  if (!c) return;
  const total = c.workers + c.jobs + c.server;
  console.log(
    `${indent}CPU per job (ms, user+sys): workers ${fmt(c.workers, 2)}, job processes ${fmt(c.jobs, 2)}, server ${fmt(c.server, 2)}; ` +
      `total ${fmt(total, 2)} → at most ${fmt((2 * 1000) / total)} jobs/s on 2 idle CPUs (kernel threads not counted)`,
  );
}

const n = Number(process.env.BENCH_DISPATCH_JOBS ?? (quick ? 200 : 1500));
const warm = Number(process.env.BENCH_DISPATCH_WARM ?? (quick ? 0 : 2000));
console.log(`load average ${readFileSync('/proc/loadavg', 'latin1').split(' ').slice(0, 3).join(' ')}`);
const floorsBefore = await floors();
const proc = await ours(n, 2, ['--sandbox', 'process'], warm);
const after = warm > 0 ? `, after ${fmt(warm, 0)} to warm the workers up` : ', the workers just started';
const goal = warm > 0 ? 'goal ≥ 150' : 'the goal, ≥ 150, is for warm workers: set BENCH_DISPATCH_WARM';
console.log(`process sandbox, 2 looping workers, ${fmt(n, 0)} jobs running true${after}: ${fmt(proc.jobsPerSecond)} jobs/s (${goal})`);
console.log('  per-job cycle in each worker (ms):');
breakdown(proc.finished, { cycle: 'goal ≤ 13 ms per worker (2 workers ≥ 150 jobs/s)' });
printCpu(proc.cpu);
if (proc.cold) {
  console.log(`  the first ${fmt(proc.cold.jobs, 0)} jobs after the workers' start (V8 still optimising the per-job code): ${fmt(proc.cold.jobsPerSecond)} jobs/s`);
  printCpu(proc.cold.cpu, '    ');
}
printFloors(floorsBefore);
console.log(`load average ${readFileSync('/proc/loadavg', 'latin1').split(' ').slice(0, 3).join(' ')}`);
if (only === 'process') process.exit(0);
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
