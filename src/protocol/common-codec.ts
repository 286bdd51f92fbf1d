// The pieces shared by Cmd, Exec and State: Uuid, jobs, Result, Files, schedule items, queues.
// Readers and writers take a Path and an optional Key naming the value (see der.ts): a composite
// value makes one PathStep for its children, a leaf none.
import { ProtocolErrorCode as E } from '../errors/protocol-error.ts';
import { CONTEXT, type DerCursor, type DerWriter, ID, type Key, type Path, T, UNIVERSAL, at, fail, tagName } from './der.ts';
import { readPeriod, writePeriod } from './period-codec.ts';
import { readTime, writeTime } from './time-codec.ts';
import type { File, Job, OrbBuildJob, Queue, Result, Running, ScheduleItem, ScriptJob, Uuid } from './types.ts';

export function invalid(field: Path, what: string, key?: Key): never {
  fail(E.INVALID_VALUE, field, key, what);
}

/** The path of a composite value's children. */
export const sub = (path: Path, key: Key | undefined): Path => (key === undefined ? path : at(path, key));

// Uuid ::= UTF8String holding exactly 16 raw bytes
export function readUuid(c: DerCursor, field: Path, key?: Key): Uuid {
  const b = c.rawString(field, key);
  if (b.length !== 16) fail(E.BAD_UUID, field, key, `uuid of ${b.length} bytes, expected 16`);
  return b;
}

export function writeUuid(w: DerWriter, u: Uuid, field: Path, key?: Key): void {
  if (!(u instanceof Uint8Array) || u.length !== 16) invalid(field, 'uuid must be 16 bytes', key);
  w.bytes(ID.UTF8, u);
}

export function writeBytes(w: DerWriter, b: Uint8Array, field: Path, key?: Key): void {
  if (!(b instanceof Uint8Array)) invalid(field, 'expected a Uint8Array', key);
  w.bytes(ID.UTF8, b);
}

// Files ::= SEQUENCE OF SEQUENCE { path UTF8String, data UTF8String }
export function readFiles(c: DerCursor, field: Path, key?: Key): File[] {
  const f = sub(field, key);
  const s = c.sequence(f);
  const files: File[] = [];
  for (let i = 0; !s.atEnd(); i++) {
    s.checkCount(i, f);
    const e = s.sequence(f, i);
    const fi = at(f, i);
    const path = e.utf8(fi, '.path');
    const data = e.rawString(fi, '.data');
    e.done(fi);
    files.push({ path, data });
  }
  return files;
}

export function writeFiles(w: DerWriter, files: File[], field: Path, key?: Key): void {
  if (!Array.isArray(files)) invalid(field, 'expected an array', key);
  const f = sub(field, key);
  w.begin(ID.SEQUENCE);
  for (let i = 0; i < files.length; i++) {
    const file = files[i];
    if (!file || typeof file !== 'object') invalid(f, 'expected a file', i);
    const fi = at(f, i);
    w.begin(ID.SEQUENCE);
    w.utf8(file.path, fi, '.path');
    writeBytes(w, file.data, fi, '.data');
    w.end();
  }
  w.end();
}

// ScriptJob ::= SEQUENCE { name, script, files (always empty, ignored), platform OPTIONAL }
export function readScriptJob(c: DerCursor, field: Path, key?: Key): ScriptJob {
  const f = sub(field, key);
  const s = c.sequence(f);
  const name = s.utf8(f, '.name');
  const script = s.utf8(f, '.script');
  if (!s.skipEmptySequence()) readFiles(s, f, '.files');
  const job: ScriptJob = { type: 'script', name, script };
  if (!s.atEnd()) job.platform = s.utf8(f, '.platform');
  s.done(f);
  return job;
}

export function writeScriptJob(w: DerWriter, j: ScriptJob, field: Path, key?: Key): void {
  if (!j || j.type !== 'script') invalid(field, 'expected a script job', key);
  const f = sub(field, key);
  w.begin(ID.SEQUENCE);
  w.utf8(j.name, f, '.name');
  w.utf8(j.script, f, '.script');
  w.begin(ID.SEQUENCE);
  w.end();
  if (j.platform !== undefined) w.utf8(j.platform, f, '.platform');
  w.end();
}

export function readOrbBuildJob(c: DerCursor, field: Path, key?: Key): OrbBuildJob {
  const f = sub(field, key);
  const s = c.sequence(f);
  const name = s.utf8(f, '.name');
  const opamPackage = s.utf8(f, '.opamPackage');
  s.done(f);
  return { type: 'orb-build', name, opamPackage };
}

export function writeOrbBuildJob(w: DerWriter, j: OrbBuildJob, field: Path, key?: Key): void {
  if (!j || j.type !== 'orb-build') invalid(field, 'expected an orb-build job', key);
  const f = sub(field, key);
  w.begin(ID.SEQUENCE);
  w.utf8(j.name, f, '.name');
  w.utf8(j.opamPackage, f, '.opamPackage');
  w.end();
}

// Job ::= CHOICE { [0] ScriptJob, [1] OrbBuildJob }
export function readJob(c: DerCursor, field: Path, key?: Key): Job {
  c.read(field, key);
  if (c.cls !== CONTEXT || !c.constructed || c.tagNo > 1) {
    fail(E.UNEXPECTED_TAG, field, key, `expected a Job ([0] or [1]), got ${tagName(c.cls, c.constructed, c.tagNo)}`);
  }
  const script = c.tagNo === 0;
  const inner = c.enterLast(field, key);
  const job = script ? readScriptJob(inner, field, key) : readOrbBuildJob(inner, field, key);
  inner.done(field, key);
  return job;
}

export function writeJob(w: DerWriter, j: Job, field: Path, key?: Key): void {
  if (j?.type === 'script') {
    w.begin(0xa0);
    writeScriptJob(w, j, field, key);
  } else if (j?.type === 'orb-build') {
    w.begin(0xa1);
    writeOrbBuildJob(w, j, field, key);
  } else invalid(field, 'unknown job type', key);
  w.end();
}

export function readJobs(c: DerCursor, field: Path, key?: Key): Job[] {
  return readSeqOf(c, field, readJob, key);
}

export function writeJobs(w: DerWriter, jobs: Job[], field: Path, key?: Key): void {
  writeSeqOf(w, jobs, field, writeJob, key);
}

// Result ::= CHOICE { [0] INTEGER exited, [1] INTEGER signalled, [2] INTEGER stopped, [3] UTF8String msg }
export function readResult(c: DerCursor, field: Path, key?: Key): Result {
  c.read(field, key);
  if (c.cls !== CONTEXT || !c.constructed || c.tagNo > 3) {
    fail(E.UNEXPECTED_TAG, field, key, `expected a Result ([0]..[3]), got ${tagName(c.cls, c.constructed, c.tagNo)}`);
  }
  const tagNo = c.tagNo;
  const inner = c.enterLast(field, key);
  const f = sub(field, key);
  let r: Result;
  switch (tagNo) {
    case 0:
      r = { type: 'exited', code: inner.int(f, '.exited') };
      break;
    case 1:
      r = { type: 'signalled', signal: inner.int(f, '.signalled') };
      break;
    case 2:
      r = { type: 'stopped', signal: inner.int(f, '.stopped') };
      break;
    default:
      r = { type: 'msg', message: inner.utf8(f, '.msg') };
  }
  inner.done(field, key);
  return r;
}

export function writeResult(w: DerWriter, r: Result, field: Path, key?: Key): void {
  const f = sub(field, key);
  switch (r?.type) {
    case 'exited':
      w.begin(0xa0);
      w.integer(r.code, f, '.exited');
      break;
    case 'signalled':
      w.begin(0xa1);
      w.integer(r.signal, f, '.signalled');
      break;
    case 'stopped':
      w.begin(0xa2);
      w.integer(r.signal, f, '.stopped');
      break;
    case 'msg':
      w.begin(0xa3);
      w.utf8(r.message, f, '.msg');
      break;
    default:
      return invalid(field, 'unknown result type', key);
  }
  w.end();
}

// ScheduleItem ::= SEQUENCE { next Time, period Period, job Job }
export function readScheduleItem(c: DerCursor, field: Path, key?: Key): ScheduleItem {
  const f = sub(field, key);
  const s = c.sequence(f);
  const next = readTime(s, f, '.next');
  const period = readPeriod(s, f, '.period');
  const job = readJob(s, f, '.job');
  s.done(f);
  return { next, period, job };
}

export function writeScheduleItem(w: DerWriter, i: ScheduleItem, field: Path, key?: Key): void {
  const f = sub(field, key);
  if (!i || typeof i !== 'object') invalid(field, 'expected a schedule item', key);
  w.begin(ID.SEQUENCE);
  writeTime(w, i.next, f, '.next');
  writePeriod(w, i.period, f, '.period');
  writeJob(w, i.job, f, '.job');
  w.end();
}

// Queue ::= SEQUENCE { platform UTF8String, jobs SEQUENCE OF Job }
export function readQueue(c: DerCursor, field: Path, key?: Key): Queue {
  const f = sub(field, key);
  const s = c.sequence(f);
  const platform = s.utf8(f, '.platform');
  const jobs = readJobs(s, f, '.jobs');
  s.done(f);
  return { platform, jobs };
}

export function writeQueue(w: DerWriter, q: Queue, field: Path, key?: Key): void {
  const f = sub(field, key);
  if (!q || typeof q !== 'object') invalid(field, 'expected a queue', key);
  w.begin(ID.SEQUENCE);
  w.utf8(q.platform, f, '.platform');
  writeJobs(w, q.jobs, f, '.jobs');
  w.end();
}

// Running ::= SEQUENCE { started Time, uuid Uuid, job ScriptJob }
export function readRunning(c: DerCursor, field: Path, key?: Key): Running {
  const f = sub(field, key);
  const s = c.sequence(f);
  const started = readTime(s, f, '.started');
  const uuid = readUuid(s, f, '.uuid');
  const job = readScriptJob(s, f, '.job');
  s.done(f);
  return { started, uuid, job };
}

export function writeRunning(w: DerWriter, r: Running, field: Path, key?: Key): void {
  const f = sub(field, key);
  if (!r || typeof r !== 'object') invalid(field, 'expected a running job', key);
  w.begin(ID.SEQUENCE);
  writeTime(w, r.started, f, '.started');
  writeUuid(w, r.uuid, f, '.uuid');
  writeScriptJob(w, r.job, f, '.job');
  w.end();
}

/** SEQUENCE OF anything, with a per-element reader (each element named "<field>[i]"). */
export function readSeqOf<V>(c: DerCursor, field: Path, read: (c: DerCursor, field: Path, key?: Key) => V, key?: Key): V[] {
  const f = sub(field, key);
  const s = c.sequence(f);
  const out: V[] = [];
  for (let i = 0; !s.atEnd(); i++) {
    s.checkCount(i, f);
    out.push(read(s, f, i));
  }
  return out;
}

export function writeSeqOf<V>(w: DerWriter, values: V[], field: Path, write: (w: DerWriter, v: V, field: Path, key?: Key) => void, key?: Key): void {
  if (!Array.isArray(values)) invalid(field, 'expected an array', key);
  const f = sub(field, key);
  w.begin(ID.SEQUENCE);
  for (let i = 0; i < values.length; i++) write(w, values[i]!, f, i);
  w.end();
}

export const readUtf8 = (c: DerCursor, field: Path, key?: Key): string => c.utf8(field, key);
export const writeUtf8 = (w: DerWriter, s: string, field: Path, key?: Key): void => w.utf8(s, field, key);

export { T, UNIVERSAL };
