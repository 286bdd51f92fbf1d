// Sandbox figures: per-job overhead (median start-to-finish of `true` in each sandbox) and console throughput
// (MB/s of output lines from a job, through the worker and its TCP connection, to a server reading the frames).
// BENCH_QUICK=1 keeps it to a few seconds.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { BwrapSandbox } from '../sandbox/bwrap.ts';
import { DockerSandbox } from '../sandbox/docker.ts';
import { ProcessSandbox } from '../sandbox/process.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';
import { decodeCmd, encodeCmd } from '../src/protocol/cmd-codec.ts';
import { FrameReader, frame } from '../src/protocol/framing.ts';
import { randomUuid } from '../src/protocol/uuid.ts';
import { destroyPool } from '../src/pool/pool.ts';
import { workSession } from '../src/worker/worker-loop.ts';

const quick = process.env.BENCH_QUICK === '1';
const RUNS = quick ? 5 : 30;
const CONSOLE_BYTES = quick ? 8_000_000 : 100_000_000; // whole 100-byte lines
const IMAGE = process.env.BUILDER_TEST_IMAGE ?? 'builder-busybox:latest';

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function overheadMs(sandbox: Sandbox): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'builder-bench-'));
    writeFileSync(join(dir, 'script.sh'), 'true\n', { mode: 0o500 });
    const t0 = process.hrtime.bigint();
    const outcome = await sandbox.run({ dir, script: 'script.sh', timeoutMs: 60_000, network: false }, () => undefined, new AbortController().signal);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    rmSync(dir, { recursive: true, force: true });
    if (outcome.type !== 'exited' || outcome.code !== 0) throw new Error(`${sandbox.name}: true ended ${JSON.stringify(outcome)}`);
  }
  return median(times);
}

/** A server that hands out one job and counts the console bytes it gets back; returns MB/s and line count. */
async function consoleThroughput(sandbox: Sandbox): Promise<{ mbPerSecond: number; lines: number }> {
  const lineBytes = 100; // 99 characters and the newline
  const script = `yes ${'a'.repeat(lineBytes - 1)} | head -c ${CONSOLE_BYTES}\n`;
  let bytes = 0;
  let lines = 0;
  let started = 0n;
  let finished = 0n;
  const done = new Promise<void>((resolve, reject) => {
    const server = createServer((socket: Socket) => {
      const reader = new FrameReader({ maxFrameBytes: 1 << 30 });
      let step = 0;
      socket.on('data', (chunk: Buffer) => {
        try {
          reader.pushEach(chunk, (payload) => {
            const cmd = decodeCmd(payload);
            if (step === 0 && cmd.type === 'client-hello') {
              step = 1;
              socket.write(frame(encodeCmd({ type: 'server-hello' })));
            } else if (step === 1 && cmd.type === 'job-requested') {
              step = 2;
              started = process.hrtime.bigint();
              socket.write(frame(encodeCmd({ type: 'job-schedule', uuid: randomUuid(), job: { type: 'script', name: 'console', script, platform: cmd.platform } })));
            } else if (cmd.type === 'output') {
              bytes += cmd.line.length + 1;
              lines++;
            } else if (cmd.type === 'job-finished') {
              finished = process.hrtime.bigint();
              socket.end();
              server.close();
              resolve();
            }
          });
        } catch (err) {
          reject(err);
        }
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      void workSession({ host: '127.0.0.1', port, platform: 'bench', sandbox, log: () => undefined }).then((end) => {
        if (end.type !== 'job-done') reject(new Error(`${sandbox.name}: session ended ${end.type}`));
      });
    });
  });
  await done;
  if (bytes !== CONSOLE_BYTES) throw new Error(`${sandbox.name}: ${bytes} console bytes arrived, ${CONSOLE_BYTES} sent`);
  const seconds = Number(finished - started) / 1e9;
  return { mbPerSecond: bytes / 1e6 / seconds, lines };
}

async function available(): Promise<{ sandbox: Sandbox; note?: string }[]> {
  const list: { sandbox: Sandbox; note?: string }[] = [{ sandbox: new ProcessSandbox() }];
  const bwrap = spawnSync('bwrap', ['--die-with-parent', '--unshare-all', '--ro-bind', '/', '/', 'true']);
  if (bwrap.status === 0) list.push({ sandbox: new BwrapSandbox() });
  else console.log(`bwrap: not usable here (${bwrap.error?.message ?? `exit ${bwrap.status}`}), skipped`);
  const docker = new Docker();
  try {
    await docker.ping();
    await docker.getImage(IMAGE).inspect();
    list.push({ sandbox: new DockerSandbox({ image: IMAGE, docker }), note: `image ${IMAGE}` });
  } catch (err) {
    console.log(`docker: not usable here (${(err as Error).message}), skipped`);
  }
  return list;
}

console.log(`sandbox bench${quick ? ' (quick)' : ''}: overhead = median of ${RUNS} runs of \`true\`; console = ${CONSOLE_BYTES / 1e6} MB in 100-byte lines, job -> worker -> TCP -> server`);
const results: { name: string; overhead: number; mbps: number; lines: number }[] = [];
for (const { sandbox, note } of await available()) {
  const overhead = await overheadMs(sandbox);
  const { mbPerSecond, lines } = await consoleThroughput(sandbox);
  await sandbox.cleanup?.();
  results.push({ name: sandbox.name + (note ? ` (${note})` : ''), overhead, mbps: mbPerSecond, lines });
}
const base = results[0]!;
for (const r of results) {
  console.log(
    `${r.name.padEnd(40)} overhead ${r.overhead.toFixed(1).padStart(7)} ms (x${(r.overhead / base.overhead).toFixed(1)})   console ${r.mbps.toFixed(1).padStart(7)} MB/s (${r.lines} lines)`,
  );
}
await destroyPool();
