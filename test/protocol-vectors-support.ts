// Shared by the protocol tests: where the vectors are, and our values in the manifest's notation.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { uuidToString } from '../src/protocol/uuid.ts';
import type { Cmd, Exec, File, Info, Job, Period, Result, ScriptJob, State, StateItem } from '../src/protocol/types.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const vectorsDir = process.env.BUILDER_VECTORS_DIR ?? path.resolve(repoRoot, '..', 'shared', 'vectors');

export interface Vector {
  name: string;
  file: string;
  kind: 'cmd' | 'period' | 'state' | 'exec';
  hex: string;
  value: unknown;
}

export interface Manifest {
  framed: { file: string; hex: string };
  vectors: Vector[];
}

export function loadManifest(): Manifest {
  return JSON.parse(readFileSync(path.join(vectorsDir, 'manifest.json'), 'utf8')) as Manifest;
}

export function readVector(v: { file: string }): Uint8Array {
  return new Uint8Array(readFileSync(path.join(vectorsDir, v.file)));
}

const strict = new TextDecoder('utf-8', { fatal: true });
function bytes(b: Uint8Array): unknown {
  try {
    return strict.decode(b);
  } catch {
    return { $hex: Buffer.from(b).toString('hex') };
  }
}
const num = (n: bigint | number): number | string => (typeof n === 'bigint' ? (n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString()) : n);
const period = (p: Period): string => p[0]!.toUpperCase() + p.slice(1);
const time = (d: Date): string => d.toISOString();
const scriptJob = (j: ScriptJob) => ({ name: j.name, platform: j.platform ?? 'no-platform', script: j.script });
const job = (j: Job) => (j.type === 'script' ? { Script_job: scriptJob(j) } : { Orb_build_job: { name: j.name, opam_package: j.opamPackage } });
const result = (r: Result) =>
  r.type === 'exited' ? { Exited: r.code } : r.type === 'signalled' ? { Signalled: r.signal } : r.type === 'stopped' ? { Stopped: r.signal } : { Msg: r.message };
const files = (fs: File[]) => fs.map((f) => ({ path: f.path, data: bytes(f.data) }));
const info = (i: Info) => ({
  schedule: i.schedule.map((s) => ({ next: time(s.next), period: period(s.period), job: job(s.job) })),
  queues: i.queues.map((q) => ({ platform: q.platform, jobs: q.jobs.map(job) })),
  running: i.running.map((r) => ({ started: time(r.started), uuid: uuidToString(r.uuid), job: scriptJob(r.job) })),
  dropped_platforms: i.droppedPlatforms,
});

/** A Cmd in the manifest's notation (the OCaml constructor names of the original). */
export function cmdToManifest(c: Cmd): unknown {
  switch (c.type) {
    case 'job-schedule':
      return { cmd: 'Job_schedule', uuid: uuidToString(c.uuid), job: scriptJob(c.job) };
    case 'job-finished':
      return { cmd: 'Job_finished', uuid: uuidToString(c.uuid), result: result(c.result), data: files(c.files) };
    case 'output':
      return c.timestamp === undefined
        ? { cmd: 'Output', uuid: uuidToString(c.uuid), output: bytes(c.line), timestamp: null }
        : { cmd: 'Output_timestamped', uuid: uuidToString(c.uuid), output: bytes(c.line), timestamp: num(c.timestamp) };
    case 'schedule':
      return { cmd: 'Schedule', period: period(c.period), job: scriptJob(c.job) };
    case 'info':
      return { cmd: 'Info' };
    case 'info-reply':
      return { cmd: 'Info_reply', info: info(c.info) };
    case 'unschedule':
      return { cmd: 'Unschedule', name: c.name };
    case 'observe':
      return { cmd: 'Observe', uuid: uuidToString(c.uuid) };
    case 'execute':
      return { cmd: 'Execute', job_name: c.name, platform: c.platform ?? null };
    case 'schedule-orb-build':
      return { cmd: 'Schedule_orb_build', period: period(c.period), orb_build_job: { name: c.job.name, opam_package: c.job.opamPackage } };
    case 'reschedule':
      return { cmd: 'Reschedule', name: c.name, next: time(c.next), period: c.period ? period(c.period) : null };
    case 'client-hello':
      return { cmd: 'Client_hello', typ: c.kind === 'client' ? 'Client' : 'Worker', version: c.version };
    case 'server-hello':
      return { cmd: 'Server_hello' };
    case 'job-requested':
      return { cmd: 'Job_requested', platform: c.platform };
    case 'drop-platform':
      return { cmd: 'Drop_platform', platform: c.platform };
    case 'undrop-platform':
      return { cmd: 'Undrop_platform', platform: c.platform };
    case 'success':
      return { cmd: 'Success' };
    case 'failure':
      return { cmd: 'Failure', msg: c.message };
    case 'schedule-extended':
      return { cmd: 'Schedule_extended', ...c.schedule, job: job(c.schedule.job), period: c.schedule.period && period(c.schedule.period) };
    case 'history':
      return { cmd: 'History', name: c.name };
    case 'history-reply':
      return { cmd: 'History_reply', json: c.json };
    case 'info-extended':
      return { cmd: 'Info_extended' };
    case 'info-extended-reply':
      return { cmd: 'Info_extended_reply', json: c.json };
  }
}

export function periodToManifest(p: Period): unknown {
  return period(p);
}

function stateItem(i: StateItem): unknown {
  switch (i.type) {
    case 'schedule':
      return { Schedule: { next: time(i.item.next), period: period(i.item.period), job: job(i.item.job) } };
    case 'queue':
      return { Queue: { platform: i.queue.platform, jobs: i.queue.jobs.map(job) } };
    case 'dropped-platform':
      return { Dropped_platform: i.platform };
    case 'obsolete':
      return undefined;
  }
}

export function stateToManifest(s: State): unknown {
  return s.map(stateItem).filter((x) => x !== undefined);
}

export function execToManifest(e: Exec): unknown {
  return {
    job: scriptJob(e.job),
    uuid: uuidToString(e.uuid),
    console: e.console.map((l) => ({ delta: num(l.delta), data: bytes(l.line) })),
    timestamps: { started: time(e.started), finished: time(e.finished) },
    result: result(e.result),
    output: files(e.files),
  };
}
