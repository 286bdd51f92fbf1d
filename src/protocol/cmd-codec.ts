// Cmd: the messages of every conversation (../shared/spec/PROTOCOL.md), plus our extensions [23]..[27]
// (docs/PROTOCOL-EXTENSIONS.md).
import { ProtocolError, ProtocolErrorCode as E } from '../errors/protocol-error.ts';
import { CONTEXT, DerCursor, type DerNode, NULL_NODE, explicit, integer, serialize, seq, tagName, utf8 } from './der.ts';
import {
  filesNode,
  invalid,
  jobNode,
  orbBuildJobNode,
  queueNode,
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
  resultNode,
  runningNode,
  scheduleItemNode,
  scriptJobNode,
  seqOfNode,
  utf8Node,
  uuidNode,
  bytesNode,
} from './common-codec.ts';
import { periodNode, readPeriod } from './period-codec.ts';
import { readTime, timeNode } from './time-codec.ts';
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
  const schedule = readSeqOf(s, `${f}.schedule`, readScheduleItem);
  const queues = readSeqOf(s, `${f}.queues`, readQueue);
  const running = readSeqOf(s, `${f}.running`, readRunning);
  const droppedPlatforms = withDropped ? readSeqOf(s, `${f}.droppedPlatforms`, readUtf8) : [];
  s.done(f);
  return { schedule, queues, running, droppedPlatforms };
}

function readCatchUp(c: DerCursor, f: string): CatchUp {
  const tlv = c.next(f);
  if (tlv.cls !== CONTEXT || !tlv.constructed || tlv.tagNo > 2) {
    throw new ProtocolError(E.UNEXPECTED_TAG, `${f}: expected a CatchUp ([0]..[2]), got ${tagName(tlv.cls, tlv.constructed, tlv.tagNo)}`, { field: f });
  }
  const inner = c.enter(tlv, f);
  let v: CatchUp;
  if (tlv.tagNo === 0) (inner.null(f), (v = { type: 'one' }));
  else if (tlv.tagNo === 1) (inner.null(f), (v = { type: 'skip' }));
  else v = { type: 'all', max: inner.int(`${f}.all`) };
  inner.done(f);
  return v;
}

function catchUpNode(v: CatchUp, f: string): DerNode {
  switch (v?.type) {
    case 'one':
      return explicit(0, NULL_NODE);
    case 'skip':
      return explicit(1, NULL_NODE);
    case 'all':
      return explicit(2, integer(v.max, `${f}.all`));
    default:
      return invalid(f, 'unknown catch-up policy');
  }
}

function readOptional<V>(s: DerCursor, tagNo: number, f: string, read: (c: DerCursor, f: string) => V): V | undefined {
  if (!s.peekIs(CONTEXT, true, tagNo)) return undefined;
  const inner = s.explicit(f, tagNo);
  const v = read(inner, f);
  inner.done(f);
  return v;
}

function readScheduleExtended(s: DerCursor, f: string): ScheduleExtended {
  const v: ScheduleExtended = { job: readJob(s, `${f}.job`) };
  const period = readOptional(s, 0, `${f}.period`, readPeriod);
  if (period !== undefined) v.period = period;
  const cron = readOptional(s, 1, `${f}.cron`, readUtf8);
  if (cron !== undefined) v.cron = cron;
  const timeZone = readOptional(s, 2, `${f}.timeZone`, readUtf8);
  if (timeZone !== undefined) v.timeZone = timeZone;
  const timeoutSeconds = readOptional(s, 3, `${f}.timeoutSeconds`, (c, g) => c.int(g));
  if (timeoutSeconds !== undefined) v.timeoutSeconds = timeoutSeconds;
  const catchUp = readOptional(s, 4, `${f}.catchUp`, readCatchUp);
  if (catchUp !== undefined) v.catchUp = catchUp;
  s.done(f);
  return v;
}

function scheduleExtendedNode(v: ScheduleExtended, f: string): DerNode {
  const kids = [jobNode(v.job, `${f}.job`)];
  if (v.period !== undefined) kids.push(explicit(0, periodNode(v.period, `${f}.period`)));
  if (v.cron !== undefined) kids.push(explicit(1, utf8(v.cron, `${f}.cron`)));
  if (v.timeZone !== undefined) kids.push(explicit(2, utf8(v.timeZone, `${f}.timeZone`)));
  if (v.timeoutSeconds !== undefined) kids.push(explicit(3, integer(v.timeoutSeconds, `${f}.timeoutSeconds`)));
  if (v.catchUp !== undefined) kids.push(explicit(4, catchUpNode(v.catchUp, `${f}.catchUp`)));
  return seq(kids);
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

function infoNode(info: Info, f: string): DerNode {
  return seq([
    seqOfNode(info.schedule, `${f}.schedule`, scheduleItemNode),
    seqOfNode(info.queues, `${f}.queues`, queueNode),
    seqOfNode(info.running, `${f}.running`, runningNode),
    seqOfNode(info.droppedPlatforms, `${f}.droppedPlatforms`, utf8Node),
  ]);
}

/** The DER tree of a Cmd (exported for size estimates and the pool). */
export function cmdNode(cmd: Cmd): DerNode {
  const tag = CMD_TAG[cmd?.type];
  if (tag === undefined) invalid('Cmd', `unknown command type ${JSON.stringify((cmd as { type?: unknown })?.type)}`);
  const f = `Cmd.${NAMES[tag]}`;
  let body: DerNode;
  switch (cmd.type) {
    case 'job-schedule':
      body = seq([uuidNode(cmd.uuid, `${f}.uuid`), scriptJobNode(cmd.job, `${f}.job`)]);
      break;
    case 'job-finished':
      body = seq([uuidNode(cmd.uuid, `${f}.uuid`), resultNode(cmd.result, `${f}.result`), filesNode(cmd.files, `${f}.files`)]);
      break;
    case 'output': {
      const kids = [uuidNode(cmd.uuid, `${f}.uuid`), bytesNode(cmd.line, `${f}.output`)];
      if (cmd.timestamp !== undefined) kids.push(integer(cmd.timestamp, `${f}.timestamp`));
      body = seq(kids);
      break;
    }
    case 'schedule':
      body = seq([periodNode(cmd.period, `${f}.period`), scriptJobNode(cmd.job, `${f}.job`)]);
      break;
    case 'schedule-orb-build':
      body = seq([periodNode(cmd.period, `${f}.period`), orbBuildJobNode(cmd.job, `${f}.job`)]);
      break;
    case 'info':
    case 'server-hello':
    case 'success':
    case 'info-extended':
      body = NULL_NODE;
      break;
    case 'unschedule':
    case 'history':
      body = utf8(cmd.name, `${f}.name`);
      break;
    case 'observe':
      body = uuidNode(cmd.uuid, `${f}.uuid`);
      break;
    case 'reschedule': {
      const kids = [utf8(cmd.name, `${f}.name`), timeNode(cmd.next, `${f}.next`)];
      if (cmd.period !== undefined) kids.push(periodNode(cmd.period, `${f}.period`));
      body = seq(kids);
      break;
    }
    case 'client-hello':
      if (cmd.kind !== 'client' && cmd.kind !== 'worker') invalid(`${f}.kind`, 'expected client or worker');
      body = seq([explicit(cmd.kind === 'client' ? 0 : 1, NULL_NODE), integer(cmd.version, `${f}.version`)]);
      break;
    case 'job-requested':
    case 'drop-platform':
    case 'undrop-platform':
      body = utf8(cmd.platform, `${f}.platform`);
      break;
    case 'failure':
      body = utf8(cmd.message, `${f}.message`);
      break;
    case 'execute': {
      const kids = [utf8(cmd.name, `${f}.jobName`)];
      if (cmd.platform !== undefined) kids.push(utf8(cmd.platform, `${f}.platform`));
      body = seq(kids);
      break;
    }
    case 'info-reply':
      body = infoNode(cmd.info, f);
      break;
    case 'schedule-extended':
      body = scheduleExtendedNode(cmd.schedule, f);
      break;
    case 'history-reply':
    case 'info-extended-reply':
      body = utf8(cmd.json, `${f}.json`);
      break;
  }
  return explicit(tag, body);
}

/** Encodes a Cmd as DER. The legacy [7] and [11] forms are never written: they become [22] and [20]. */
export function encodeCmd(cmd: Cmd): Uint8Array {
  return serialize(cmdNode(cmd));
}

/** A cheap upper-bound-ish estimate of a Cmd's encoded size, to choose inline or pool encoding. */
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
