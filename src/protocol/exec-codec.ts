// Exec: the job result (the `full` file, the upload body). Exec [1] is never valid.
import { ProtocolError, ProtocolErrorCode as E } from '../errors/protocol-error.ts';
import { CONTEXT, DerCursor, type DerWriter, ID, type Key, type Path, at, encodeDer, tagName } from './der.ts';
import { invalid, readFiles, readResult, readScriptJob, readUuid, writeBytes, writeFiles, writeResult, writeScriptJob, writeSeqOf, writeUuid } from './common-codec.ts';
import { readTime } from './time-codec.ts';
import type { ConsoleLine, Exec } from './types.ts';

export function decodeExec(der: Uint8Array): Exec {
  const top = DerCursor.of(der, 'Exec');
  const tlv = top.next('Exec');
  top.done('Exec');
  if (tlv.cls !== CONTEXT || !tlv.constructed || tlv.tagNo > 1) {
    throw new ProtocolError(E.UNEXPECTED_TAG, `Exec: expected [0], got ${tagName(tlv.cls, tlv.constructed, tlv.tagNo)}`, { field: 'Exec' });
  }
  if (tlv.tagNo === 1) throw new ProtocolError(E.OBSOLETE, 'Exec: alternative [1] is never valid, refused', { field: 'Exec' });
  const inner = top.enter(tlv, 'Exec');
  const s = inner.sequence('Exec');
  inner.done('Exec');
  const job = readScriptJob(s, 'Exec.job');
  const uuid = readUuid(s, 'Exec.uuid');
  const cs = s.sequence('Exec.console');
  const console: ConsoleLine[] = [];
  for (let i = 0; !cs.atEnd(); i++) {
    cs.checkCount(i, 'Exec.console');
    const e = cs.sequence('Exec.console', i);
    const f = at('Exec.console', i);
    const delta = e.bigint(f, '.delta');
    const line = e.rawString(f, '.data');
    e.done(f);
    console.push({ delta, line });
  }
  const ts = s.sequence('Exec.timestamps');
  const started = readTime(ts, 'Exec.timestamps.started');
  const finished = readTime(ts, 'Exec.timestamps.finished');
  ts.done('Exec.timestamps');
  const result = readResult(s, 'Exec.result');
  const files = readFiles(s, 'Exec.output');
  s.done('Exec');
  return { job, uuid, console, started, finished, result, files };
}

function writeConsoleLine(w: DerWriter, l: ConsoleLine, f: Path, key?: Key): void {
  if (!l || typeof l !== 'object') invalid(f, 'expected a console line', key);
  const p = key === undefined ? f : at(f, key);
  w.begin(ID.SEQUENCE);
  w.integer(l.delta, p, '.delta');
  writeBytes(w, l.line, p, '.data');
  w.end();
}

export function writeExec(w: DerWriter, e: Exec): void {
  if (!e || typeof e !== 'object') invalid('Exec', 'expected an Exec');
  w.begin(0xa0);
  w.begin(ID.SEQUENCE);
  writeScriptJob(w, e.job, 'Exec.job');
  writeUuid(w, e.uuid, 'Exec.uuid');
  writeSeqOf(w, e.console, 'Exec.console', writeConsoleLine);
  w.begin(ID.SEQUENCE);
  w.time(e.started, 'Exec.timestamps.started');
  w.time(e.finished, 'Exec.timestamps.finished');
  w.end();
  writeResult(w, e.result, 'Exec.result');
  writeFiles(w, e.files, 'Exec.output');
  w.end();
  w.end();
}

export function encodeExec(e: Exec): Uint8Array {
  return encodeDer(e, writeExec);
}

export function estimateExecSize(e: Exec): number {
  let n = 256 + e.job.script.length * 3;
  for (const l of e.console) n += l.line.length + 16;
  for (const f of e.files) n += f.data.length + f.path.length * 3 + 16;
  return n;
}

/** The bytes of an Exec's files (console lines are many small values: they count 0, see bulkBytesOfCmd). */
export function bulkBytesOfExec(e: Exec): number {
  let n = 0;
  for (const f of e.files) n += f.data.length;
  return n;
}
