// Exec: the job result (the `full` file, the upload body). Exec [1] is never valid.
import { ProtocolError, ProtocolErrorCode as E } from '../errors/protocol-error.ts';
import { CONTEXT, DerCursor, type DerNode, explicit, integer, serialize, seq, tagName } from './der.ts';
import { bytesNode, filesNode, readFiles, readResult, readScriptJob, readUuid, resultNode, scriptJobNode, seqOfNode, uuidNode } from './common-codec.ts';
import { readTime, timeNode } from './time-codec.ts';
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
    const f = `Exec.console[${i}]`;
    cs.checkCount(i, 'Exec.console');
    const e = cs.sequence(f);
    const delta = e.bigint(`${f}.delta`);
    const line = e.rawString(`${f}.data`);
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

export function execNode(e: Exec): DerNode {
  return explicit(
    0,
    seq([
      scriptJobNode(e.job, 'Exec.job'),
      uuidNode(e.uuid, 'Exec.uuid'),
      seqOfNode(e.console, 'Exec.console', (l: ConsoleLine, f) => seq([integer(l.delta, `${f}.delta`), bytesNode(l.line, `${f}.data`)])),
      seq([timeNode(e.started, 'Exec.timestamps.started'), timeNode(e.finished, 'Exec.timestamps.finished')]),
      resultNode(e.result, 'Exec.result'),
      filesNode(e.files, 'Exec.output'),
    ]),
  );
}

export function encodeExec(e: Exec): Uint8Array {
  return serialize(execNode(e));
}

export function estimateExecSize(e: Exec): number {
  let n = 256 + e.job.script.length * 3;
  for (const l of e.console) n += l.line.length + 16;
  for (const f of e.files) n += f.data.length + f.path.length * 3 + 16;
  return n;
}
