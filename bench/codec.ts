// Codec and pool figures: Output lines (messages/s), a 64 MiB JobFinished (MB/s), pool SHA-256
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
await jobFinished();
await hashing();
await destroyPool();
