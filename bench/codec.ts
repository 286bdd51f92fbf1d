// Codec and pool figures: Output lines (messages/s), a 64 MiB JobFinished (MB/s), an InfoReply of
// many small values (schedule items + queued jobs: encode/decode ms, inline and pool), pool SHA-256
// beside sha256sum on the same file, and the event-loop delay while the pool hashes.
// BENCH_QUICK=1 uses smaller sizes and finishes in seconds.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { decodeCmd, encodeCmd } from '../src/protocol/cmd-codec.ts';
import { FrameReader, frame } from '../src/protocol/framing.ts';
import { destroyPool, encodeCmdOffThread, sha256File } from '../src/pool/pool.ts';
import { randomUuid } from '../src/protocol/uuid.ts';
import type { Cmd } from '../src/protocol/types.ts';

const quick = process.env.BENCH_QUICK === '1';
const MiB = 1024 * 1024;
const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits });

function time<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const v = f();
  return [v, (performance.now() - t0) / 1000];
}

function outputLines(): void {
  const uuid = randomUuid();
  for (const n of quick ? [1_000, 10_000] : [1_000, 10_000, 100_000]) {
    const cmds: Cmd[] = Array.from({ length: n }, (_, i) => ({ type: 'output', uuid, line: Buffer.from(`${i}: compiling src/some/module_${i}.ml with a reasonably long console line`) }));
    const [ders, te] = time(() => cmds.map(encodeCmd));
    const [, td] = time(() => ders.forEach((d) => decodeCmd(d)));
    const wire = Buffer.concat(ders.map((d) => frame(d)));
    const [, tf] = time(() => {
      const r = new FrameReader({ maxFrameBytes: MiB });
      for (let p = 0; p < wire.length; p += 65536) for (const payload of r.push(wire.subarray(p, p + 65536))) decodeCmd(payload);
    });
    console.log(`Output lines x${fmt(n)}: encode ${fmt(n / te)} msg/s, decode ${fmt(n / td)} msg/s, unframe+decode from 64 KiB chunks ${fmt(n / tf)} msg/s`);
  }
}

async function jobFinished(): Promise<void> {
  const size = (quick ? 8 : 64) * MiB;
  const data = new Uint8Array(randomBytes(size));
  const cmd: Cmd = { type: 'job-finished', uuid: randomUuid(), result: { type: 'exited', code: 0 }, files: [{ path: 'bin/unikernel.hvt', data }, { path: 'log', data: Buffer.from('ok\n') }] };
  encodeCmd(cmd); // warm up
  const reps = quick ? 3 : 5;
  const [der, te] = time(() => {
    let d!: Uint8Array;
    for (let i = 0; i < reps; i++) d = encodeCmd(cmd);
    return d;
  });
  const [, td] = time(() => {
    for (let i = 0; i < reps; i++) decodeCmd(der);
  });
  const mb = (size / MiB) * reps;
  const wire = frame(der);
  const [, tw] = time(() => {
    for (let i = 0; i < reps; i++) {
      const r = new FrameReader({ maxFrameBytes: 256 * MiB });
      for (let p = 0; p < wire.length; p += 65536) for (const payload of r.push(wire.subarray(p, p + 65536))) decodeCmd(payload);
    }
  });
  console.log(`JobFinished ${size / MiB} MiB from the wire in 64 KiB chunks (frame reassembly + decode): ${fmt(mb / tw)} MB/s`);
  await encodeCmdOffThread(cmd); // start the pool's threads
  const t0 = performance.now();
  await encodeCmdOffThread(cmd);
  const tp = (performance.now() - t0) / 1000;
  console.log(`JobFinished ${size / MiB} MiB: encode ${fmt(mb / te)} MB/s, decode ${fmt(mb / td)} MB/s (views, no copy), pool encode incl. transfer ${fmt(size / MiB / tp)} MB/s`);
}

/** An InfoReply with n schedule items and a queue of n script jobs, the shape the server's `info` sends. */
export function bigInfoReply(n: number): Cmd {
  const t0 = Date.UTC(2024, 0, 1);
  const schedule = Array.from({ length: n }, (_, i) => ({
    next: new Date(t0 + i * 61_001),
    period: (['hourly', 'daily', 'weekly', 'never'] as const)[i % 4],
    job: { type: 'script' as const, name: `job-${i}`, script: `#!/bin/sh\nmake -C /src/project-${i} all`, platform: 'debian-12' },
  }));
  const jobs = Array.from({ length: n }, (_, i) => ({ type: 'script' as const, name: `queued-${i}`, script: `echo building ${i} && ./build.sh --target=${i}` }));
  return { type: 'info-reply', info: { schedule, queues: [{ platform: 'debian-12', jobs }], running: [], droppedPlatforms: ['freebsd-14'] } };
}

async function infoReply(): Promise<void> {
  for (const n of quick ? [10_000] : [10_000, 100_000]) {
    const cmd = bigInfoReply(n);
    const [der, coldE] = time(() => encodeCmd(cmd));
    const [, coldD] = time(() => decodeCmd(der));
    const reps = n >= 100_000 ? 3 : 10;
    let te = Infinity;
    let td = Infinity;
    for (let i = 0; i < reps; i++) {
      te = Math.min(te, time(() => encodeCmd(cmd))[1]);
      td = Math.min(td, time(() => decodeCmd(der))[1]);
    }
    await encodeCmdOffThread(cmd); // start the pool's threads
    const [p, tp] = await timeAsync(() => encodeCmdOffThread(cmd));
    const same = Buffer.compare(Buffer.from(p), Buffer.from(der)) === 0;
    console.log(
      `InfoReply ${fmt(n)} schedule items + ${fmt(n)} queued jobs (${fmt(der.length / MiB, 2)} MiB): encode ${fmt(te * 1000, 1)} ms, decode ${fmt(td * 1000, 1)} ms warm ` +
        `(cold ${fmt(coldE * 1000, 1)} / ${fmt(coldD * 1000, 1)} ms); CmdSocket path (encodeCmdOffThread) ${fmt(tp * 1000, 1)} ms (same bytes: ${same})`,
    );
  }
}

async function timeAsync<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await f();
  return [v, (performance.now() - t0) / 1000];
}

async function hashing(): Promise<void> {
  const size = (quick ? 64 : 1024) * MiB;
  const dir = await mkdtemp(path.join(tmpdir(), 'builder-bench-'));
  try {
    const file = path.join(dir, 'artifact.bin');
    const block = randomBytes(MiB);
    await new Promise<void>((resolve, reject) => {
      const ws = createWriteStream(file);
      ws.on('error', reject);
      let written = 0;
      const more = (): void => {
        while (written < size) {
          written += MiB;
          block[0] = written & 0xff;
          if (!ws.write(Buffer.from(block))) return void ws.once('drain', more);
        }
        ws.end(resolve);
      };
      more();
    });
    await sha256File(file); // start the pool's threads, warm the page cache
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const t0 = performance.now();
    const digest = await sha256File(file);
    const tp = (performance.now() - t0) / 1000;
    h.disable();
    const t1 = performance.now();
    const { stdout } = await promisify(execFile)('sha256sum', [file]);
    const ts = (performance.now() - t1) / 1000;
    const same = stdout.split(' ')[0] === Buffer.from(digest).toString('hex');
    console.log(`SHA-256 of ${size / MiB} MiB: pool ${fmt(size / MiB / tp)} MB/s, sha256sum ${fmt(size / MiB / ts)} MB/s (same digest: ${same})`);
    console.log(`event-loop delay while the pool hashed: max ${fmt(h.max / 1e6, 1)} ms, p99 ${fmt(h.percentile(99) / 1e6, 1)} ms`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

console.log(`bench/codec${quick ? ' (quick)' : ''}`);
outputLines();
await infoReply();
await jobFinished();
await hashing();
await destroyPool();
