// Web frontend figures: upload throughput of a 100 MB build, and the latency (median, p99) of `/` and
// of a job page with 1,000 jobs of 10 builds each. BENCH_QUICK=1: 10 MB and 100 jobs.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { percentile } from './percentile.ts';
import { destroyPool } from '../src/pool/pool.ts';
import { encodeExec } from '../src/protocol/exec-codec.ts';
import { buildStoreFor } from '../src/web/build-store.ts';
import { UserStore } from '../src/web/users.ts';
import { startWebServer } from '../src/web/web-server.ts';
import { basic, http, inputFiles, makeExec, tempEnv } from '../test/helpers/web-fixtures.ts';

const quick = process.env.BENCH_QUICK === '1';
const UPLOAD_MB = quick ? 10 : 100;
const JOBS = quick ? 100 : 1000;
const BUILDS = 10;
const REQUESTS = quick ? 50 : 200;

async function latency(url: string): Promise<{ median: number; p99: number; bytes: number }> {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < REQUESTS; i++) {
    const t = performance.now();
    const r = await http(url);
    times.push(performance.now() - t);
    if (r.status !== 200) throw new Error(`${url}: ${r.status}`);
    bytes = r.body.length;
  }
  return { median: percentile(times, 50), p99: percentile(times, 99), bytes };
}

const env = await tempEnv();
try {
  await new UserStore(env.root).add('bench', 'bench');
  const web = await startWebServer({ port: 0, dataDir: env.dir, root: env.root, maxUploadBytes: (UPLOAD_MB + 16) * 1024 * 1024, log: () => undefined });
  const url = web.address.url;

  console.log(`upload of a ${UPLOAD_MB} MB build (POST /upload to 201, 3 runs, distinct contents):`);
  for (let run = 0; run < 3; run++) {
    const body = encodeExec(makeExec({ job: 'big', files: { 'bin/big.img': randomBytes(UPLOAD_MB * 1024 * 1024), ...inputFiles() } }));
    const t = performance.now();
    const r = await http(`${url}/upload`, { method: 'POST', body, headers: { Authorization: basic('bench', 'bench') } });
    const s = (performance.now() - t) / 1000;
    if (r.status !== 201) throw new Error(`upload: ${r.status} ${r.body}`);
    console.log(`  run ${run + 1}: ${s.toFixed(2)} s, ${(body.length / 1024 / 1024 / s).toFixed(1)} MB/s`);
  }

  const store = buildStoreFor(env.root, env.dir);
  const t0 = performance.now();
  const now = Date.now();
  for (let j = 0; j < JOBS; j++) {
    const name = `job-${String(j).padStart(4, '0')}`;
    await Promise.all(
      Array.from({ length: BUILDS }, (_, b) =>
        store.record(
          makeExec({
            job: name,
            started: new Date(now - (BUILDS - b) * 3600_000 - j * 1000),
            files: { [`bin/${name}.hvt`]: `${name} build ${b % 3}`, README: `readme of ${name}`, ...inputFiles() },
          }),
        ),
      ),
    );
  }
  console.log(`filled ${JOBS} jobs x ${BUILDS} builds in ${((performance.now() - t0) / 1000).toFixed(1)} s (in process, recordBuild path)`);
  for (const [label, path] of [
    ['/', '/'],
    ['job page', `/job/job-${String(Math.floor(JOBS / 2)).padStart(4, '0')}`],
    ['build page', `/job/job-0001/build/${store.jobBuilds('job-0001')[0]!.uuid}`],
  ] as const) {
    const l = await latency(url + path);
    console.log(`${label.padEnd(10)} ${REQUESTS} GETs: median ${l.median.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms (${(l.bytes / 1024).toFixed(0)} KiB)`);
  }
  await web.close();
} finally {
  await env.cleanup();
  await destroyPool();
}
