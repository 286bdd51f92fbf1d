// Issue 13.4: the server's RSS with 100k jobs and 1,000 idle connected workers (goal <= 200 MiB), and where
// it goes: heap snapshots of the server process (taken by V8 on SIGUSR2) summed by type, per job (heap at
// 100k jobs against an empty store) and per connection (heap with the workers against without).
// BENCH_QUICK=1: 10k jobs and 200 workers.
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from '../src/protocol/connect.ts';
import type { CmdSocket } from '../src/protocol/cmd-socket.ts';
import { summarizeHeapSnapshot, type HeapSummary } from './heap-summary.ts';
import { seedStore } from './seed-store.ts';
import { rssMiB, spawnBuilderServer, type Spawned } from './server-spawn.ts';

const quick = process.env.BENCH_QUICK === '1';
const jobs = quick ? 10_000 : 100_000;
const workers = quick ? 200 : 1000;
const MiB = 2 ** 20;
const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Asks the server's V8 for a heap snapshot (written into its cwd) and sums it. */
async function snapshot(server: Spawned, cwd: string): Promise<HeapSummary> {
  const before = new Set(await readdir(cwd));
  server.child.kill('SIGUSR2');
  for (let waited = 0; waited < 300_000; waited += 250) {
    await sleep(250);
    const file = (await readdir(cwd)).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (!file) continue;
    const p = path.join(cwd, file);
    const { size } = await stat(p);
    if (size < 2) continue;
    const fh = await readFile(p);
    if (!fh.subarray(-2).equals(Buffer.from(']}'))) continue;
    const summary = summarizeHeapSnapshot(p);
    await rm(p, { force: true });
    return summary;
  }
  throw new Error('no heap snapshot after 300 s');
}

async function serverWith(n: number): Promise<{ server: Spawned; dir: string; cwd: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'builder-bench-mem-'));
  const cwd = path.join(dir, 'snapshots');
  await (await import('node:fs/promises')).mkdir(cwd);
  if (n > 0) await seedStore(dir, n);
  // every bench worker comes from 127.0.0.1: above the default per-address limit
  const server = await spawnBuilderServer(dir, { nodeArgs: ['--heapsnapshot-signal=SIGUSR2'], cwd, args: ['--max-connections-per-address', String(2 * workers)] });
  await sleep(1000);
  return { server, dir, cwd };
}

const top = (s: HeapSummary, k: number) => s.groups.slice(0, k).map((g) => `${g.what.replace(/^object Object$/, 'plain objects')} ${fmt(g.bytes / MiB, 1)} MiB (${fmt(g.count)})`).join('; ');

function growth(from: HeapSummary, to: HeapSummary, per: number, k: number): string {
  const was = new Map(from.groups.map((g) => [g.what, g.bytes]));
  return to.groups
    .map((g) => ({ what: g.what, bytes: g.bytes - (was.get(g.what) ?? 0) }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, k)
    .map((g) => `${g.what.replace(/^object Object$/, 'plain objects')} ${fmt(g.bytes / per)} B`)
    .join(', ');
}

console.log(`# memory (issue 13.4): a server process with ${fmt(jobs)} jobs and ${fmt(workers)} idle connected workers`);
const empty = await serverWith(0);
const emptyRss = rssMiB(empty.server.child.pid!);
const emptyHeap = await snapshot(empty.server, empty.cwd);
await empty.server.stop();
await rm(empty.dir, { recursive: true, force: true });

// RSS first, in a process no snapshot has touched (writing a snapshot grows the RSS by itself)
const measured = await serverWith(jobs);
const socks: CmdSocket[] = [];
let jobsRss: number;
let rss: number;
try {
  jobsRss = rssMiB(measured.server.child.pid!);
  await connectWorkers(measured.server.port, socks);
  rss = rssMiB(measured.server.child.pid!);
  console.log(`RSS: empty store ${fmt(emptyRss)} MiB; ${fmt(jobs)} jobs ${fmt(jobsRss)} MiB; with ${fmt(workers)} idle workers ${fmt(rss)} MiB (goal <= 200 MiB at 100k jobs and 1,000 workers: ${quick ? 'measured without BENCH_QUICK' : rss <= 200 ? 'met' : 'NOT met'})`);
  console.log(`  per connection: ${fmt(((rss - jobsRss) * MiB) / workers)} B of RSS`);
} finally {
  for (const s of socks.splice(0)) s.destroy();
  await measured.server.stop();
  await rm(measured.dir, { recursive: true, force: true });
}

// then where it goes: heap snapshots of another such process, before and after the workers connect
const full = await serverWith(jobs);
try {
  const jobsHeap = await snapshot(full.server, full.cwd);
  await connectWorkers(full.server.port, socks);
  const heap = await snapshot(full.server, full.cwd);
  console.log(`heap (live objects): empty ${fmt(emptyHeap.totalBytes / MiB, 1)} MiB; ${fmt(jobs)} jobs ${fmt(jobsHeap.totalBytes / MiB, 1)} MiB; with the workers ${fmt(heap.totalBytes / MiB, 1)} MiB; the rest of the RSS is code, the node binary's and lmdb's mapped pages, malloc and socket buffers`);
  console.log(`  by type, with the workers: ${top(heap, 8)}`);
  console.log(`per job: ${fmt((jobsHeap.totalBytes - emptyHeap.totalBytes) / jobs)} B of heap: ${growth(emptyHeap, jobsHeap, jobs, 6)}`);
  console.log(`per connection: ${fmt((heap.totalBytes - jobsHeap.totalBytes) / workers)} B of heap: ${growth(jobsHeap, heap, workers, 6)}`);
} finally {
  for (const s of socks) s.destroy();
  await full.server.stop();
  await rm(full.dir, { recursive: true, force: true });
}

async function connectWorkers(port: number, into: CmdSocket[]): Promise<void> {
  for (let i = 0; i < workers; i++) {
    const s = await connect('127.0.0.1', port);
    await s.send({ type: 'client-hello', kind: 'worker', version: 5 });
    await s.next();
    await s.send({ type: 'job-requested', platform: 'idle' });
    into.push(s);
  }
  await sleep(1000);
}
