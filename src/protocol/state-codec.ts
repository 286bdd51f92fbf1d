// State: the original's `<dir>/state` file, SEQUENCE OF StateItem.
import { ProtocolError, ProtocolErrorCode as E } from '../errors/protocol-error.ts';
import { CONTEXT, DerCursor, type DerNode, explicit, serialize, seq, tagName, utf8 } from './der.ts';
import { queueNode, readJob, readQueue, readScheduleItem, readScriptJob } from './common-codec.ts';
import { readPeriod } from './period-codec.ts';
import { readUtcTime } from './time-codec.ts';
import type { State, StateItem } from './types.ts';
import { scheduleItemNode } from './common-codec.ts';

function readItem(c: DerCursor, f: string): StateItem {
  const tlv = c.next(f);
  if (tlv.cls !== CONTEXT || !tlv.constructed || tlv.tagNo > 5) {
    throw new ProtocolError(E.UNEXPECTED_TAG, `${f}: expected a StateItem ([0]..[5]), got ${tagName(tlv.cls, tlv.constructed, tlv.tagNo)}`, { field: f });
  }
  const s = c.enter(tlv, f);
  let item: StateItem;
  switch (tlv.tagNo) {
    case 0:
      readScriptJob(s, `${f}.scriptJob`);
      item = { type: 'obsolete', tag: 0 };
      break;
    case 1: {
      const q = s.sequence(f);
      const next = readUtcTime(q, `${f}.next`);
      const period = readPeriod(q, `${f}.period`);
      const job = readScriptJob(q, `${f}.job`);
      q.done(f);
      item = { type: 'schedule', item: { next, period, job }, legacy: true };
      break;
    }
    case 2:
      readJob(s, `${f}.job`);
      item = { type: 'obsolete', tag: 2 };
      break;
    case 3:
      item = { type: 'schedule', item: readScheduleItem(s, `${f}.schedule`) };
      break;
    case 4:
      item = { type: 'queue', queue: readQueue(s, `${f}.queue`) };
      break;
    default:
      item = { type: 'dropped-platform', platform: s.utf8(`${f}.platform`) };
  }
  s.done(f);
  return item;
}

/** Decodes a state file. Obsolete items ([0], [2]) come back as { type: 'obsolete' } for the caller to warn about. */
export function decodeState(der: Uint8Array): State {
  const top = DerCursor.of(der, 'State');
  const s = top.sequence('State');
  top.done('State');
  const items: State = [];
  for (let i = 0; !s.atEnd(); i++) {
    s.checkCount(i, 'State');
    items.push(readItem(s, `State[${i}]`));
  }
  return items;
}

function itemNode(item: StateItem, f: string): DerNode | undefined {
  switch (item.type) {
    case 'schedule':
      return explicit(3, scheduleItemNode(item.item, `${f}.schedule`));
    case 'queue':
      return explicit(4, queueNode(item.queue, `${f}.queue`));
    case 'dropped-platform':
      return explicit(5, utf8(item.platform, `${f}.platform`));
    case 'obsolete':
      return undefined; // never written, as in the original
  }
}

/** Encodes a state file as the original writes it: schedule items as [3], obsolete items left out. */
export function encodeState(state: State): Uint8Array {
  const kids: DerNode[] = [];
  state.forEach((item, i) => {
    const n = itemNode(item, `State[${i}]`);
    if (n) kids.push(n);
  });
  return serialize(seq(kids));
}
