// Issue 15.3: the server's RSS while a worker sends 10 M one-byte console lines (goal: bounded, well under
// the 3.85 GB seen before the console's per-line cost was counted), and after the job finished.
// BENCH_QUICK=1: 1 M lines.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encodeCmd } from '../src/protocol/cmd-codec.ts';
import { connect } from '../src/protocol/connect.ts';
import { frameHeader } from '../src/protocol/framing.ts';
import { clientCall } from '../test/helpers/server-fixture.ts';
import { rssMiB, spawnBuilderServer } from './server-spawn.ts';

const lines = process.env.BENCH_QUICK === '1' ? 1_000_000 : 10_000_000;
const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dir = await mkdtemp(path.join(tmpdir(), 'builder-bench-hostile-'));
const server = await spawnBuilderServer(dir);
const pid = server.child.pid!;
try {
  await sleep(500);
  const idle = rssMiB(pid);
  await clientCall(server.port, { type: 'schedule', period: 'daily', job: { type: 'script', name: 'flood', script: 'true', platform: 'bench' } });
  const w = await connect('127.0.0.1', server.port);
  await w.send({ type: 'client-hello', kind: 'worker', version: 5 });
  await w.next();
  await w.send({ type: 'job-requested', platform: 'bench' });
  const js = await w.next();
  if (js?.type !== 'job-schedule') throw new Error(`expected a job, got ${js?.type}`);
  // one Output frame, repeated: the worker side costs nothing, the server decodes every line
  const payload = encodeCmd({ type: 'output', uuid: js.uuid, line: new Uint8Array([120]) });
  const frame = Buffer.concat([frameHeader(payload.length), payload]);
  const perChunk = 10_000;
  const chunk = Buffer.concat(Array.from({ length: perChunk }, () => frame));
  let peak = idle;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 100);
  const t0 = Date.now();
  for (let sent = 0; sent < lines; sent += perChunk) {
    if (!w.socket.write(chunk)) await new Promise((r) => w.socket.once('drain', r));
  }
  await w.send({ type: 'job-finished', uuid: js.uuid, result: { type: 'exited', code: 0 }, files: [] });
  await w.closed;
  const seconds = (Date.now() - t0) / 1000;
  await sleep(2000);
  clearInterval(sampler);
  const after = rssMiB(pid);
  console.log(`server RSS during ${fmt(lines)} one-byte console lines: peak ${fmt(peak)} MiB, after the job ${fmt(after)} MiB (idle ${fmt(idle)} MiB; goal: bounded, < 1,024 MiB; was 3,850 MB) in ${seconds.toFixed(1)} s`);
} finally {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
