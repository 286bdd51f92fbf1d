// The pieces shared by Cmd, Exec and State: Uuid, jobs, Result, Files, schedule items, queues.
import { ProtocolError, ProtocolErrorCode as E } from '../errors/protocol-error.ts';
import { CONTEXT, type DerCursor, type DerNode, T, UNIVERSAL, explicit, integer, rawString, seq, tagName, utf8 } from './der.ts';
import { periodNode, readPeriod } from './period-codec.ts';
import { readTime, timeNode } from './time-codec.ts';
import type { File, Job, OrbBuildJob, Queue, Result, Running, ScheduleItem, ScriptJob, Uuid } from './types.ts';

export function invalid(field: string, what: string): never {
  throw new ProtocolError(E.INVALID_VALUE, `${field}: ${what}`, { field });
}

// Uuid ::= UTF8String holding exactly 16 raw bytes
export function readUuid(c: DerCursor, field: string): Uuid {
  const b = c.rawString(field);
  if (b.length !== 16) throw new ProtocolError(E.BAD_UUID, `${field}: uuid of ${b.length} bytes, expected 16`, { field });
  return b;
}

export function uuidNode(u: Uuid, field: string): DerNode {
  if (!(u instanceof Uint8Array) || u.length !== 16) invalid(field, 'uuid must be 16 bytes');
  return rawString(u);
}

export function bytesNode(b: Uint8Array, field: string): DerNode {
  if (!(b instanceof Uint8Array)) invalid(field, 'expected a Uint8Array');
  return rawString(b);
}

// Files ::= SEQUENCE OF SEQUENCE { path UTF8String, data UTF8String }
export function readFiles(c: DerCursor, field: string): File[] {
  const s = c.sequence(field);
  const files: File[] = [];
  for (let i = 0; !s.atEnd(); i++) {
    const f = `${field}[${i}]`;
    s.checkCount(i, field);
    const e = s.sequence(f);
    const path = e.utf8(`${f}.path`);
    const data = e.rawString(`${f}.data`);
    e.done(f);
    files.push({ path, data });
  }
  return files;
}

export function filesNode(files: File[], field: string): DerNode {
  if (!Array.isArray(files)) invalid(field, 'expected an array');
  return seq(files.map((file, i) => seq([utf8(file.path, `${field}[${i}].path`), bytesNode(file.data, `${field}[${i}].data`)])));
}

// ScriptJob ::= SEQUENCE { name, script, files (always empty, ignored), platform OPTIONAL }
export function readScriptJob(c: DerCursor, field: string): ScriptJob {
  const s = c.sequence(field);
  const name = s.utf8(`${field}.name`);
  const script = s.utf8(`${field}.script`);
  readFiles(s, `${field}.files`);
  const job: ScriptJob = { type: 'script', name, script };
  if (!s.atEnd()) job.platform = s.utf8(`${field}.platform`);
  s.done(field);
  return job;
}

export function scriptJobNode(j: ScriptJob, field: string): DerNode {
  if (!j || j.type !== 'script') invalid(field, 'expected a script job');
  const kids = [utf8(j.name, `${field}.name`), utf8(j.script, `${field}.script`), seq([])];
  if (j.platform !== undefined) kids.push(utf8(j.platform, `${field}.platform`));
  return seq(kids);
}

export function readOrbBuildJob(c: DerCursor, field: string): OrbBuildJob {
  const s = c.sequence(field);
  const name = s.utf8(`${field}.name`);
  const opamPackage = s.utf8(`${field}.opamPackage`);
  s.done(field);
  return { type: 'orb-build', name, opamPackage };
}

export function orbBuildJobNode(j: OrbBuildJob, field: string): DerNode {
  if (!j || j.type !== 'orb-build') invalid(field, 'expected an orb-build job');
  return seq([utf8(j.name, `${field}.name`), utf8(j.opamPackage, `${field}.opamPackage`)]);
}

// Job ::= CHOICE { [0] ScriptJob, [1] OrbBuildJob }
export function readJob(c: DerCursor, field: string): Job {
  const tlv = c.next(field);
  if (tlv.cls !== CONTEXT || !tlv.constructed || tlv.tagNo > 1) {
    throw new ProtocolError(E.UNEXPECTED_TAG, `${field}: expected a Job ([0] or [1]), got ${tagName(tlv.cls, tlv.constructed, tlv.tagNo)}`, { field });
  }
  const inner = c.enter(tlv, field);
  const job = tlv.tagNo === 0 ? readScriptJob(inner, field) : readOrbBuildJob(inner, field);
  inner.done(field);
  return job;
}

export function jobNode(j: Job, field: string): DerNode {
  if (j?.type === 'script') return explicit(0, scriptJobNode(j, field));
  if (j?.type === 'orb-build') return explicit(1, orbBuildJobNode(j, field));
  return invalid(field, 'unknown job type');
}

export function readJobs(c: DerCursor, field: string): Job[] {
  const s = c.sequence(field);
  const jobs: Job[] = [];
  for (let i = 0; !s.atEnd(); i++) {
    s.checkCount(i, field);
    jobs.push(readJob(s, `${field}[${i}]`));
  }
  return jobs;
}

export function jobsNode(jobs: Job[], field: string): DerNode {
  if (!Array.isArray(jobs)) invalid(field, 'expected an array');
  return seq(jobs.map((j, i) => jobNode(j, `${field}[${i}]`)));
}

// Result ::= CHOICE { [0] INTEGER exited, [1] INTEGER signalled, [2] INTEGER stopped, [3] UTF8String msg }
export function readResult(c: DerCursor, field: string): Result {
  const tlv = c.next(field);
  if (tlv.cls !== CONTEXT || !tlv.constructed || tlv.tagNo > 3) {
    throw new ProtocolError(E.UNEXPECTED_TAG, `${field}: expected a Result ([0]..[3]), got ${tagName(tlv.cls, tlv.constructed, tlv.tagNo)}`, { field });
  }
  const inner = c.enter(tlv, field);
  let r: Result;
  switch (tlv.tagNo) {
    case 0:
      r = { type: 'exited', code: inner.int(`${field}.exited`) };
      break;
    case 1:
      r = { type: 'signalled', signal: inner.int(`${field}.signalled`) };
      break;
    case 2:
      r = { type: 'stopped', signal: inner.int(`${field}.stopped`) };
      break;
    default:
      r = { type: 'msg', message: inner.utf8(`${field}.msg`) };
  }
  inner.done(field);
  return r;
}

export function resultNode(r: Result, field: string): DerNode {
  switch (r?.type) {
    case 'exited':
      return explicit(0, integer(r.code, `${field}.exited`));
    case 'signalled':
      return explicit(1, integer(r.signal, `${field}.signalled`));
    case 'stopped':
      return explicit(2, integer(r.signal, `${field}.stopped`));
    case 'msg':
      return explicit(3, utf8(r.message, `${field}.msg`));
    default:
      return invalid(field, 'unknown result type');
  }
}

// ScheduleItem ::= SEQUENCE { next Time, period Period, job Job }
export function readScheduleItem(c: DerCursor, field: string): ScheduleItem {
  const s = c.sequence(field);
  const next = readTime(s, `${field}.next`);
  const period = readPeriod(s, `${field}.period`);
  const job = readJob(s, `${field}.job`);
  s.done(field);
  return { next, period, job };
}

export function scheduleItemNode(i: ScheduleItem, field: string): DerNode {
  return seq([timeNode(i.next, `${field}.next`), periodNode(i.period, `${field}.period`), jobNode(i.job, `${field}.job`)]);
}

// Queue ::= SEQUENCE { platform UTF8String, jobs SEQUENCE OF Job }
export function readQueue(c: DerCursor, field: string): Queue {
  const s = c.sequence(field);
  const platform = s.utf8(`${field}.platform`);
  const jobs = readJobs(s, `${field}.jobs`);
  s.done(field);
  return { platform, jobs };
}

export function queueNode(q: Queue, field: string): DerNode {
  return seq([utf8(q.platform, `${field}.platform`), jobsNode(q.jobs, `${field}.jobs`)]);
}

// Running ::= SEQUENCE { started Time, uuid Uuid, job ScriptJob }
export function readRunning(c: DerCursor, field: string): Running {
  const s = c.sequence(field);
  const started = readTime(s, `${field}.started`);
  const uuid = readUuid(s, `${field}.uuid`);
  const job = readScriptJob(s, `${field}.job`);
  s.done(field);
  return { started, uuid, job };
}

export function runningNode(r: Running, field: string): DerNode {
  return seq([timeNode(r.started, `${field}.started`), uuidNode(r.uuid, `${field}.uuid`), scriptJobNode(r.job, `${field}.job`)]);
}

/** SEQUENCE OF anything, with a per-element reader. */
export function readSeqOf<V>(c: DerCursor, field: string, read: (c: DerCursor, field: string) => V): V[] {
  const s = c.sequence(field);
  const out: V[] = [];
  for (let i = 0; !s.atEnd(); i++) {
    s.checkCount(i, field);
    out.push(read(s, `${field}[${i}]`));
  }
  return out;
}

export function seqOfNode<V>(values: V[], field: string, node: (v: V, field: string) => DerNode): DerNode {
  if (!Array.isArray(values)) invalid(field, 'expected an array');
  return seq(values.map((v, i) => node(v, `${field}[${i}]`)));
}

export const readUtf8 = (c: DerCursor, field: string): string => c.utf8(field);
export const utf8Node = (s: string, field: string): DerNode => utf8(s, field);

export { T, UNIVERSAL };
