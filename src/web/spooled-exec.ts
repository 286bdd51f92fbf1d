// An uploaded Exec read from its spool file: the small fields decoded by the protocol's strict readers, the
// console copied line by line into its blob file (hashed on the way), and each artifact located by offset,
// never loaded. Every artifact path is checked here, before anything is stored.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { DerCursor } from '../protocol/der.ts';
import { readResult, readScriptJob, readUuid } from '../protocol/common-codec.ts';
import { readTime } from '../protocol/time-codec.ts';
import { uuidToString } from '../protocol/uuid.ts';
import type { Result, ScriptJob } from '../protocol/types.ts';
import { WebError, webErrors } from '../errors/web-error.ts';
import { DerFileReader } from './der-file-reader.ts';
import { uploadJobNameProblem, uploadPathProblem } from './upload-path.ts';

const SEQ = 0x30;
const UTF8 = 0x0c;
/** a script, a console line: large for text, small against the body */
const MAX_TEXT_VALUE = 16 * 1024 * 1024;
const MAX_PATH = 4096;
const MAX_ELEMENTS = 1_000_000;

export interface SpooledFile {
  path: string;
  /** offset and length of the file's bytes in the spool file */
  start: number;
  length: number;
}

export interface SpooledExec {
  job: ScriptJob;
  uuid: string;
  started: Date;
  finished: Date;
  result: Result;
  files: SpooledFile[];
  console: { file: string; sha256: string; size: number; lines: number };
}

function strict<T>(bytes: Buffer, field: string, read: (c: DerCursor) => T): T {
  try {
    const top = DerCursor.of(bytes, field);
    const v = read(top);
    top.done(field);
    return v;
  } catch (e) {
    if (e instanceof WebError) throw e;
    throw webErrors.badUpload(e instanceof Error ? e.message : String(e), e);
  }
}

/** Parses the spool file; the console blob is written to consoleFile (the caller removes it). */
export async function readSpooledExec(spool: string, consoleFile: string): Promise<SpooledExec> {
  const r = await DerFileReader.open(spool);
  try {
    const top = await r.peek('Exec');
    if (top.id === 0xa1) throw webErrors.badUpload('Exec: alternative [1] is never valid, refused');
    await r.enter('Exec', 0xa0, r.size);
    const end = top.start + top.len;
    if (end !== r.size) throw webErrors.badUpload(`Exec: ${r.size - end} unexpected trailing bytes`);
    const seq = await r.enter('Exec', SEQ, end);
    if (seq.start + seq.len !== end) throw webErrors.badUpload('Exec: unexpected trailing bytes');
    const job = strict(await r.tlv('Exec.job', MAX_TEXT_VALUE, end), 'Exec.job', (c) => readScriptJob(c, 'Exec.job'));
    const why = uploadJobNameProblem(job.name);
    if (why) throw webErrors.badJobName(job.name, why);
    const uuid = uuidToString(strict(await r.tlv('Exec.uuid', 64, end), 'Exec.uuid', (c) => readUuid(c, 'Exec.uuid')));
    const console = await copyConsole(r, end, consoleFile);
    const [started, finished] = strict(await r.tlv('Exec.timestamps', 256, end), 'Exec.timestamps', (c) => {
      const ts = c.sequence('Exec.timestamps');
      const both = [readTime(ts, 'Exec.timestamps.started'), readTime(ts, 'Exec.timestamps.finished')] as const;
      ts.done('Exec.timestamps');
      return both;
    });
    const result = strict(await r.tlv('Exec.result', MAX_TEXT_VALUE, end), 'Exec.result', (c) => readResult(c, 'Exec.result'));
    const files = await locateFiles(r, end);
    if (r.pos !== end) throw webErrors.badUpload(`Exec: ${end - r.pos} unexpected trailing bytes`);
    return { job, uuid, started, finished, result, files, console };
  } finally {
    await r.close();
  }
}

/** Console lines as console-blob.ts lays them out (delta, length, bytes), streamed to a file and hashed. */
async function copyConsole(r: DerFileReader, end: number, file: string): Promise<SpooledExec['console']> {
  const h = await r.enter('Exec.console', SEQ, end);
  const cend = h.start + h.len;
  const out = createWriteStream(file);
  const hash = createHash('sha256');
  let size = 0;
  let lines = 0;
  try {
    while (r.pos < cend) {
      if (lines >= MAX_ELEMENTS) throw webErrors.badUpload(`Exec.console: more than ${MAX_ELEMENTS} elements`);
      const field = `Exec.console[${lines}]`;
      const { delta, line } = strict(await r.tlv(field, MAX_TEXT_VALUE, cend), field, (c) => {
        const e = c.sequence(field);
        const v = { delta: e.bigint(field, '.delta'), line: e.rawString(field, '.data') };
        e.done(field);
        return v;
      });
      const head = Buffer.alloc(12);
      head.writeBigInt64BE(BigInt.asIntN(64, delta), 0);
      head.writeUInt32BE(line.length, 8);
      hash.update(head).update(line);
      if (!out.write(head) || !out.write(line)) await once(out, 'drain');
      size += 12 + line.length;
      lines++;
    }
    out.end();
    await once(out, 'finish');
  } catch (e) {
    out.destroy();
    throw e;
  }
  return { file, sha256: hash.digest('hex'), size, lines };
}

async function locateFiles(r: DerFileReader, end: number): Promise<SpooledFile[]> {
  const h = await r.enter('Exec.output', SEQ, end);
  const fend = h.start + h.len;
  const files: SpooledFile[] = [];
  while (r.pos < fend) {
    if (files.length >= MAX_ELEMENTS) throw webErrors.badUpload(`Exec.output: more than ${MAX_ELEMENTS} elements`);
    const field = `Exec.output[${files.length}]`;
    const e = await r.enter(field, SEQ, fend);
    const eend = e.start + e.len;
    const raw = await r.tlv(`${field}.path`, MAX_PATH, eend);
    const path = strict(raw, `${field}.path`, (c) => c.utf8(`${field}.path`));
    const why = uploadPathProblem(path);
    if (why) throw webErrors.badArtifactPath(path, why);
    const d = await r.enter(`${field}.data`, UTF8, eend);
    r.skip(d.len);
    if (r.pos !== eend) throw webErrors.badUpload(`${field}: unexpected trailing bytes`);
    files.push({ path, start: d.start, length: d.len });
  }
  return files;
}
