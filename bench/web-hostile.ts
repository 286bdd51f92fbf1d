// Issue 15.1 and 15.4, against `builder web` as a user starts it: (1) a console download's latency alone and
// while 300 uploads with a wrong password arrive at once (before the fix: 9 ms -> 5 s); (2) the server's RSS
// during three concurrent 450 MB uploads (before: about 1.1 GB per upload in flight). BENCH_QUICK=1: 45 MB.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { encodeExec } from '../src/protocol/exec-codec.ts';
import { uuidToString } from '../src/protocol/uuid.ts';
import { basic, http, makeExec } from '../test/helpers/web-fixtures.ts';
import { builderBin, freePort } from '../test/helpers/server-process.ts';
import { percentile } from './percentile.ts';
import { rssMiB, spawnUntilListening } from './server-spawn.ts';

const quick = process.env.BENCH_QUICK === '1';
const UPLOAD_BYTES = (quick ? 45 : 450) * 1000 * 1000;
const FLOOD = 300;
const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (id: number, len: number) => Buffer.concat([Buffer.from([id]), derLength(len)]);

/** The DER of an Exec with one file of `size` bytes, as a header and the file's bytes streamed after it. */
function bigExec(job: string, size: number, seed: number): { head: Buffer; total: number; data: () => AsyncGenerator<Uint8Array> } {
  const empty = Buffer.from(encodeExec(makeExec({ job, files: {} })));
  // a0 L { 30 L { job uuid console timestamps result 30 00 } }: keep the fields, drop the empty file list
  const skip = (b: Buffer, at: number) => at + 1 + (b[at + 1]! < 0x80 ? 1 : 1 + (b[at + 1]! & 0x7f));
  const fields = empty.subarray(skip(empty, skip(empty, 0)), empty.length - 2);
  const pathTlv = Buffer.concat([tlv(0x0c, 'bin/big.img'.length), Buffer.from('bin/big.img')]);
  const dataHead = tlv(0x0c, size);
  const entryLen = pathTlv.length + dataHead.length + size;
  const entryHead = tlv(0x30, entryLen);
  const filesLen = entryHead.length + entryLen;
  const filesHead = tlv(0x30, filesLen);
  const seqLen = fields.length + filesHead.length + filesLen;
  const seqHead = tlv(0x30, seqLen);
  const head = Buffer.concat([tlv(0xa0, seqHead.length + seqLen), seqHead, fields, filesHead, entryHead, pathTlv, dataHead]);
  const chunk = randomBytes(1024 * 1024);
  chunk.writeUInt32BE(seed, 0);
  return {
    head,
    total: head.length + size,
    async *data() {
      yield head;
      for (let sent = 0; sent < size; sent += chunk.length) yield chunk.subarray(0, Math.min(chunk.length, size - sent));
    },
  };
}

// `--flood URL`: this file run as the attacker, in its own process, so the figures are the server's alone
if (process.argv[2] === '--flood') {
  const body = encodeExec(makeExec({ job: 'flood', files: { 'bin/a': 'B' } }));
  const answers = await Promise.all(
    Array.from({ length: FLOOD }, () => http(`${process.argv[3]}/upload`, { method: 'POST', body, headers: { Authorization: basic('bench', 'wrong') } })),
  );
  const count = (s: number) => answers.filter((a) => a.status === s).length;
  process.stdout.write(JSON.stringify({ checked: count(401), refused: count(429) }));
  process.exit(0);
}

const dir = await mkdtemp(path.join(tmpdir(), 'builder-bench-web-hostile-'));
const port = await freePort();
const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [builderBin, ...args, `--dir=${dir}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`builder ${args.join(' ')}: ${r.stderr}`);
};
cli('user', 'add', 'bench', '--unrestricted', '--password=bench');
const server = await spawnUntilListening([builderBin, 'web', `--dir=${dir}`, '--port', String(port)], port);
const url = `http://127.0.0.1:${port}`;
const pid = server.child.pid!;
try {
  const ok = basic('bench', 'bench');
  const exec = makeExec({ job: 'flood', files: { 'bin/a': 'A' }, console: Array.from({ length: 500 }, (_, i) => `line ${i}`) });
  const up = await http(`${url}/upload`, { method: 'POST', body: encodeExec(exec), headers: { Authorization: ok } });
  if (up.status !== 201) throw new Error(`upload: ${up.status} ${up.body}`);
  const consoleUrl = `${url}/job/flood/build/${uuidToString(exec.uuid)}/console`;
  const timed = async () => {
    const t = performance.now();
    const r = await http(consoleUrl);
    if (r.status !== 200) throw new Error(`console: ${r.status}`);
    return performance.now() - t;
  };
  const alone: number[] = [];
  for (let i = 0; i < 50; i++) alone.push(await timed());
  const t0 = performance.now();
  const attacker = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, '--flood', url], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  attacker.stdout.on('data', (d) => (out += d));
  const flood = new Promise<{ checked: number; refused: number }>((resolve, reject) =>
    attacker.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`flood exited ${code}`)))),
  );
  const during: number[] = [];
  let floodDone = false;
  void flood.then(() => (floodDone = true));
  while (!floodDone || during.length < 5) during.push(await timed());
  const result = await flood;
  const floodMs = performance.now() - t0;
  console.log(`console download (500 lines) while ${FLOOD} uploads with a wrong password arrive at once:`);
  console.log(`  alone:  median ${fmt(percentile(alone, 50), 1)} ms, p99 ${fmt(percentile(alone, 99), 1)} ms`);
  console.log(
    `  during: median ${fmt(percentile(during, 50), 1)} ms, p99 ${fmt(percentile(during, 99), 1)} ms, max ${fmt(Math.max(...during), 1)} ms over ${during.length} downloads (goal: same order as alone; 5 s before the fix)`,
  );
  console.log(`  the flood (another process, from its start to its last answer, ${fmt(floodMs)} ms): ${result.checked} checked (401), ${result.refused} refused unchecked (429 + Retry-After)`);

  const rssBefore = rssMiB(pid);
  let peak = rssBefore;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, rssMiB(pid));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const t1 = performance.now();
  const uploads = await Promise.all(
    [1, 2, 3].map((seed) => {
      const b = bigExec(`big-${seed}`, UPLOAD_BYTES, seed);
      return http(`${url}/upload`, { method: 'POST', headers: { Authorization: ok, 'Content-Length': String(b.total) }, body: b.data });
    }),
  );
  const secs = (performance.now() - t1) / 1000;
  sampling = false;
  await sampler;
  for (const u of uploads) if (u.status !== 201) throw new Error(`big upload: ${u.status} ${u.body}`);
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
  const mb = UPLOAD_BYTES / 1e6;
  console.log(`server RSS during three concurrent ${fmt(mb)} MB uploads (stored in ${fmt(secs, 1)} s, ${fmt((3 * mb) / secs, 1)} MB/s together):`);
  console.log(`  before ${fmt(rssBefore)} MiB, peak ${fmt(peak)} MiB sampled every 50 ms, high-water mark ${fmt(hwm)} MiB`);
  console.log(`  (goal: well under one upload's ${fmt(mb)} MB; before the fix about 1.1 GB per upload in flight)`);
} finally {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
