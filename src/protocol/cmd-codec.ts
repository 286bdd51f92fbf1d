// Cmd: the messages of every conversation (../shared/spec/PROTOCOL.md), plus our extensions [23]..[27]
// (docs/PROTOCOL-EXTENSIONS.md).
import { ProtocolError, ProtocolErrorCode as E } from '../errors/protocol-error.ts';
import { CONTEXT, DerCursor, type DerWriter, ID, type Path, at, encodeDer, fail, tagName } from './der.ts';
import {
  invalid,
  readFiles,
  readJob,
  readOrbBuildJob,
  readQueue,
  readResult,
  readRunning,
  readScheduleItem,
  readScriptJob,
  readSeqOf,
  readUtf8,
  readUuid,
  writeBytes,
  writeFiles,
  writeJob,
  writeOrbBuildJob,
  writeQueue,
  writeResult,
  writeRunning,
  writeScheduleItem,
  writeScriptJob,
  writeSeqOf,
  writeUtf8,
  writeUuid,
} from './common-codec.ts';
import { readPeriod, writePeriod } from './period-codec.ts';
import { readTime, writeTime } from './time-codec.ts';
import type { CatchUp, Cmd, Info, ScheduleExtended } from './types.ts';

/** The context tag of each Cmd alternative we send. */
export const CMD_TAG = {
  'job-schedule': 2,
  'job-finished': 3,
  output: 4,
  schedule: 5,
  info: 6,
  unschedule: 9,
  observe: 10,
  'schedule-orb-build': 12,
  reschedule: 13,
  'client-hello': 14,
  'server-hello': 15,
  'job-requested': 16,
  'drop-platform': 17,
  success: 18,
  failure: 19,
  execute: 20,
  'undrop-platform': 21,
  'info-reply': 22,
  'schedule-extended': 23,
  history: 24,
  'history-reply': 25,
  'info-extended': 26,
  'info-extended-reply': 27,
} as const satisfies Record<Cmd['type'], number>;

const NAMES: Record<number, string> = {
  0: 'obsolete [0]', 1: 'obsolete [1]', 2: 'JobSchedule', 3: 'JobFinished', 4: 'Output', 5: 'Schedule', 6: 'Info',
  7: 'InfoReply (old)', 8: 'obsolete [8]', 9: 'Unschedule', 10: 'Observe', 11: 'Execute (old)', 12: 'ScheduleOrbBuild',
  13: 'Reschedule', 14: 'ClientHello', 15: 'ServerHello', 16: 'JobRequested', 17: 'DropPlatform', 18: 'Success',
  19: 'Failure', 20: 'Execute', 21: 'UndropPlatform', 22: 'InfoReply', 23: 'ScheduleExtended', 24: 'History',
  25: 'HistoryReply', 26: 'InfoExtended', 27: 'InfoExtendedReply',
};

function readInfo(s: DerCursor, f: string, withDropped: boolean): Info {
  const schedule = readSeqOf(s, f, readScheduleItem, '.schedule');
  const queues = readSeqOf(s, f, readQueue, '.queues');
  const running = readSeqOf(s, f, readRunning, '.running');
  const droppedPlatforms = withDropped ? readSeqOf(s, f, readUtf8, '.droppedPlatforms') : [];
  s.done(f);
  return { schedule, queues, running, droppedPlatforms };
}

function readCatchUp(c: DerCursor, f: Path): CatchUp {
  c.read(f);
  if (c.cls !== CONTEXT || !c.constructed || c.tagNo > 2) {
    fail(E.UNEXPECTED_TAG, f, undefined, `expected a CatchUp ([0]..[2]), got ${tagName(c.cls, c.constructed, c.tagNo)}`);
  }
  const tagNo = c.tagNo;
  const inner = c.enterLast(f);
  let v: CatchUp;
  if (tagNo === 0) (inner.null(f), (v = { type: 'one' }));
  else if (tagNo === 1) (inner.null(f), (v = { type: 'skip' }));
  else v = { type: 'all', max: inner.int(f, '.all') };
  inner.done(f);
  return v;
}

function writeCatchUp(w: DerWriter, v: CatchUp, f: Path): void {
  switch (v?.type) {
    case 'one':
    case 'skip':
      w.begin(v.type === 'one' ? 0xa0 : 0xa1);
      w.null();
      break;
    case 'all':
      w.begin(0xa2);
      w.integer(v.max, f, '.all');
      break;
    default:
      return invalid(f, 'unknown catch-up policy');
  }
  w.end();
}

function readOptional<V>(s: DerCursor, tagNo: number, f: Path, read: (c: DerCursor, f: Path) => V): V | undefined {
  if (!s.peekIs(CONTEXT, true, tagNo)) return undefined;
  const inner = s.explicit(f, tagNo);
  const v = read(inner, f);
  inner.done(f);
  return v;
}

function readScheduleExtended(s: DerCursor, f: string): ScheduleExtended {
  const v: ScheduleExtended = { job: readJob(s, f, '.job') };
  const period = readOptional(s, 0, at(f, '.period'), readPeriod);
  if (period !== undefined) v.period = period;
  const cron = readOptional(s, 1, at(f, '.cron'), readUtf8);
  if (cron !== undefined) v.cron = cron;
  const timeZone = readOptional(s, 2, at(f, '.timeZone'), readUtf8);
  if (timeZone !== undefined) v.timeZone = timeZone;
  const timeoutSeconds = readOptional(s, 3, at(f, '.timeoutSeconds'), (c, g) => c.int(g));
  if (timeoutSeconds !== undefined) v.timeoutSeconds = timeoutSeconds;
  const catchUp = readOptional(s, 4, at(f, '.catchUp'), readCatchUp);
  if (catchUp !== undefined) v.catchUp = catchUp;
  s.done(f);
  return v;
}

function writeScheduleExtended(w: DerWriter, v: ScheduleExtended, f: string): void {
  if (!v || typeof v !== 'object') invalid(f, 'expected a schedule');
  w.begin(ID.SEQUENCE);
  writeJob(w, v.job, f, '.job');
  if (v.period !== undefined) {
    w.begin(0xa0);
    writePeriod(w, v.period, f, '.period');
    w.end();
  }
  if (v.cron !== undefined) {
    w.begin(0xa1);
    w.utf8(v.cron, f, '.cron');
    w.end();
  }
  if (v.timeZone !== undefined) {
    w.begin(0xa2);
    w.utf8(v.timeZone, f, '.timeZone');
    w.end();
  }
  if (v.timeoutSeconds !== undefined) {
    w.begin(0xa3);
    w.integer(v.timeoutSeconds, f, '.timeoutSeconds');
    w.end();
  }
  if (v.catchUp !== undefined) {
    w.begin(0xa4);
    writeCatchUp(w, v.catchUp, at(f, '.catchUp'));
    w.end();
  }
  w.end();
}

/** Reads the body of alternative [tag] (the cursor is inside the explicit tag). */
function readBody(tag: number, c: DerCursor): Cmd {
  const f = `Cmd.${NAMES[tag] ?? `[${tag}]`}`;
  switch (tag) {
    case 0:
    case 1:
    case 8:
      throw new ProtocolError(E.OBSOLETE, `${f}: obsolete alternative [${tag}], refused`, { field: f });
    case 2: {
      const s = c.sequence(f);
      const uuid = readUuid(s, `${f}.uuid`);
      const job = readScriptJob(s, `${f}.job`);
      s.done(f);
      return { type: 'job-schedule', uuid, job };
    }
    case 3: {
      const s = c.sequence(f);
      const uuid = readUuid(s, `${f}.uuid`);
      const result = readResult(s, `${f}.result`);
      const files = readFiles(s, `${f}.files`);
      s.done(f);
      return { type: 'job-finished', uuid, result, files };
    }
    case 4: {
      const s = c.sequence(f);
      const uuid = readUuid(s, `${f}.uuid`);
      const line = s.rawString(`${f}.output`);
      const cmd: Cmd = { type: 'output', uuid, line };
      if (!s.atEnd()) cmd.timestamp = s.bigint(`${f}.timestamp`);
      s.done(f);
      return cmd;
    }
    case 5: {
      const s = c.sequence(f);
      const period = readPeriod(s, `${f}.period`);
      const job = readScriptJob(s, `${f}.job`);
      s.done(f);
      return { type: 'schedule', period, job };
    }
    case 6:
      c.null(f);
      return { type: 'info' };
    case 7:
      return { type: 'info-reply', info: readInfo(c.sequence(f), f, false), legacy: true };
    case 9:
      return { type: 'unschedule', name: c.utf8(`${f}.name`) };
    case 10:
      return { type: 'observe', uuid: readUuid(c, `${f}.uuid`) };
    case 11:
      return { type: 'execute', name: c.utf8(`${f}.jobName`), legacy: true };
    case 12: {
      const s = c.sequence(f);
      const period = readPeriod(s, `${f}.period`);
      const job = readOrbBuildJob(s, `${f}.job`);
      s.done(f);
      return { type: 'schedule-orb-build', period, job };
    }
    case 13: {
      const s = c.sequence(f);
      const name = s.utf8(`${f}.name`);
      const next = readTime(s, `${f}.next`);
      const cmd: Cmd = { type: 'reschedule', name, next };
      if (!s.atEnd()) cmd.period = readPeriod(s, `${f}.period`);
      s.done(f);
      return cmd;
    }
    case 14: {
      const s = c.sequence(f);
      const k = s.next(`${f}.kind`);
      if (k.cls !== CONTEXT || !k.constructed || k.tagNo > 1) {
        throw new ProtocolError(E.UNEXPECTED_TAG, `${f}.kind: expected [0] client or [1] worker, got ${tagName(k.cls, k.constructed, k.tagNo)}`, { field: `${f}.kind` });
      }
      const ki = s.enter(k, `${f}.kind`);
      ki.null(`${f}.kind`);
      ki.done(`${f}.kind`);
      const version = s.int(`${f}.version`);
      s.done(f);
      return { type: 'client-hello', kind: k.tagNo === 0 ? 'client' : 'worker', version };
    }
    case 15:
      c.null(f);
      return { type: 'server-hello' };
    case 16:
      return { type: 'job-requested', platform: c.utf8(`${f}.platform`) };
    case 17:
      return { type: 'drop-platform', platform: c.utf8(`${f}.platform`) };
    case 18:
      c.null(f);
      return { type: 'success' };
    case 19:
      return { type: 'failure', message: c.utf8(`${f}.message`) };
    case 20: {
      const s = c.sequence(f);
      const name = s.utf8(`${f}.jobName`);
      const cmd: Cmd = { type: 'execute', name };
      if (!s.atEnd()) cmd.platform = s.utf8(`${f}.platform`);
      s.done(f);
      return cmd;
    }
    case 21:
      return { type: 'undrop-platform', platform: c.utf8(`${f}.platform`) };
    case 22:
      return { type: 'info-reply', info: readInfo(c.sequence(f), f, true) };
    case 23:
      return { type: 'schedule-extended', schedule: readScheduleExtended(c.sequence(f), f) };
    case 24:
      return { type: 'history', name: c.utf8(`${f}.name`) };
    case 25:
      return { type: 'history-reply', json: c.utf8(`${f}.json`) };
    case 26:
      c.null(f);
      return { type: 'info-extended' };
    case 27:
      return { type: 'info-extended-reply', json: c.utf8(`${f}.json`) };
    default:
      throw new ProtocolError(E.UNKNOWN_ALTERNATIVE, `Cmd: unknown alternative [${tag}]`, { field: 'Cmd' });
  }
}

/** Decodes one DER Cmd; exactly one value, no trailing bytes. Throws ProtocolError only. */
export function decodeCmd(der: Uint8Array): Cmd {
  const top = DerCursor.of(der, 'Cmd');
  const tlv = top.next('Cmd');
  if (tlv.cls !== CONTEXT || !tlv.constructed) {
    throw new ProtocolError(E.UNEXPECTED_TAG, `Cmd: expected a context tag [n], got ${tagName(tlv.cls, tlv.constructed, tlv.tagNo)}`, { field: 'Cmd' });
  }
  top.done('Cmd');
  const inner = top.enter(tlv, 'Cmd');
  const cmd = readBody(tlv.tagNo, inner);
  inner.done(`Cmd.${NAMES[tlv.tagNo] ?? tlv.tagNo}`);
  return cmd;
}

function writeInfo(w: DerWriter, info: Info, f: string): void {
  if (!info || typeof info !== 'object') invalid(f, 'expected an Info');
  w.begin(ID.SEQUENCE);
  writeSeqOf(w, info.schedule, f, writeScheduleItem, '.schedule');
  writeSeqOf(w, info.queues, f, writeQueue, '.queues');
  writeSeqOf(w, info.running, f, writeRunning, '.running');
  writeSeqOf(w, info.droppedPlatforms, f, writeUtf8, '.droppedPlatforms');
  w.end();
}

/** Writes the body of a Cmd (inside its explicit tag). */
function writeBody(w: DerWriter, cmd: Cmd, f: string): void {
  switch (cmd.type) {
    case 'job-schedule':
      w.begin(ID.SEQUENCE);
      writeUuid(w, cmd.uuid, f, '.uuid');
      writeScriptJob(w, cmd.job, f, '.job');
      w.end();
      break;
    case 'job-finished':
      w.begin(ID.SEQUENCE);
      writeUuid(w, cmd.uuid, f, '.uuid');
      writeResult(w, cmd.result, f, '.result');
      writeFiles(w, cmd.files, f, '.files');
      w.end();
      break;
    case 'output':
      w.begin(ID.SEQUENCE);
      writeUuid(w, cmd.uuid, f, '.uuid');
      writeBytes(w, cmd.line, f, '.output');
      if (cmd.timestamp !== undefined) w.integer(cmd.timestamp, f, '.timestamp');
      w.end();
      break;
    case 'schedule':
      w.begin(ID.SEQUENCE);
      writePeriod(w, cmd.period, f, '.period');
      writeScriptJob(w, cmd.job, f, '.job');
      w.end();
      break;
    case 'schedule-orb-build':
      w.begin(ID.SEQUENCE);
      writePeriod(w, cmd.period, f, '.period');
      writeOrbBuildJob(w, cmd.job, f, '.job');
      w.end();
      break;
    case 'info':
    case 'server-hello':
    case 'success':
    case 'info-extended':
      w.null();
      break;
    case 'unschedule':
    case 'history':
      w.utf8(cmd.name, f, '.name');
      break;
    case 'observe':
      writeUuid(w, cmd.uuid, f, '.uuid');
      break;
    case 'reschedule':
      w.begin(ID.SEQUENCE);
      w.utf8(cmd.name, f, '.name');
      writeTime(w, cmd.next, f, '.next');
      if (cmd.period !== undefined) writePeriod(w, cmd.period, f, '.period');
      w.end();
      break;
    case 'client-hello':
      if (cmd.kind !== 'client' && cmd.kind !== 'worker') invalid(f, 'expected client or worker', '.kind');
      w.begin(ID.SEQUENCE);
      w.begin(cmd.kind === 'client' ? 0xa0 : 0xa1);
      w.null();
      w.end();
      w.integer(cmd.version, f, '.version');
      w.end();
      break;
    case 'job-requested':
    case 'drop-platform':
    case 'undrop-platform':
      w.utf8(cmd.platform, f, '.platform');
      break;
    case 'failure':
      w.utf8(cmd.message, f, '.message');
      break;
    case 'execute':
      w.begin(ID.SEQUENCE);
      w.utf8(cmd.name, f, '.jobName');
      if (cmd.platform !== undefined) w.utf8(cmd.platform, f, '.platform');
      w.end();
      break;
    case 'info-reply':
      writeInfo(w, cmd.info, f);
      break;
    case 'schedule-extended':
      writeScheduleExtended(w, cmd.schedule, f);
      break;
    case 'history-reply':
    case 'info-extended-reply':
      w.utf8(cmd.json, f, '.json');
      break;
  }
}

/** Writes a Cmd (its explicit tag and body); the legacy [7] and [11] forms are never written. */
export function writeCmd(w: DerWriter, cmd: Cmd): void {
  const tag = CMD_TAG[cmd?.type];
  if (tag === undefined) invalid('Cmd', `unknown command type ${JSON.stringify((cmd as { type?: unknown })?.type)}`);
  w.begin(ID.context(tag));
  writeBody(w, cmd, `Cmd.${NAMES[tag]}`);
  w.end();
}

/** Encodes a Cmd as DER. The legacy [7] and [11] forms are never written: they become [22] and [20]. */
export function encodeCmd(cmd: Cmd): Uint8Array {
  return encodeDer(cmd, writeCmd);
}

/** A cheap upper-bound-ish estimate of a Cmd's encoded size. */
export function estimateCmdSize(cmd: Cmd): number {
  if (cmd.type === 'job-finished') {
    let n = 64;
    for (const f of cmd.files) n += f.data.length + f.path.length * 3 + 16;
    return n;
  }
  if (cmd.type === 'output') return cmd.line.length + 40;
  if (cmd.type === 'info-reply') {
    const i = cmd.info;
    return 64 + 256 * (i.schedule.length + i.running.length + i.droppedPlatforms.length) + i.queues.reduce((n, q) => n + 256 * (1 + q.jobs.length), 0);
  }
  return 256;
}

/**
 * The bytes of a Cmd held in large byte arrays (file contents, output lines): the part a worker
 * thread can get by transfer or a cheap copy. Object-heavy messages (InfoReply) count 0: cloning
 * their object graph to a worker costs more than encoding them here.
 */
export function bulkBytesOfCmd(cmd: Cmd): number {
  if (cmd.type === 'job-finished') {
    let n = 0;
    for (const f of cmd.files) n += f.data.length;
    return n;
  }
  if (cmd.type === 'output') return cmd.line.length;
  return 0;
}
