// State: the original's `<dir>/state` file, SEQUENCE OF StateItem.
import { ProtocolErrorCode as E } from '../errors/protocol-error.ts';
import { CONTEXT, DerCursor, type DerWriter, ID, type Path, at, encodeDer, fail, tagName } from './der.ts';
import { readJob, readQueue, readScheduleItem, readScriptJob, writeQueue, writeScheduleItem } from './common-codec.ts';
import { readPeriod } from './period-codec.ts';
import { readUtcTime } from './time-codec.ts';
import type { State, StateItem } from './types.ts';

function readItem(c: DerCursor, f: Path): StateItem {
  c.read(f);
  if (c.cls !== CONTEXT || !c.constructed || c.tagNo > 5) {
    fail(E.UNEXPECTED_TAG, f, undefined, `expected a StateItem ([0]..[5]), got ${tagName(c.cls, c.constructed, c.tagNo)}`);
  }
  const tagNo = c.tagNo;
  const s = c.enterLast(f);
  let item: StateItem;
  switch (tagNo) {
    case 0:
      readScriptJob(s, f, '.scriptJob');
      item = { type: 'obsolete', tag: 0 };
      break;
    case 1: {
      const q = s.sequence(f);
      const next = readUtcTime(q, f, '.next');
      const period = readPeriod(q, f, '.period');
      const job = readScriptJob(q, f, '.job');
      q.done(f);
      item = { type: 'schedule', item: { next, period, job }, legacy: true };
      break;
    }
    case 2:
      readJob(s, f, '.job');
      item = { type: 'obsolete', tag: 2 };
      break;
    case 3:
      item = { type: 'schedule', item: readScheduleItem(s, f, '.schedule') };
      break;
    case 4:
      item = { type: 'queue', queue: readQueue(s, f, '.queue') };
      break;
    default:
      item = { type: 'dropped-platform', platform: s.utf8(f, '.platform') };
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
    items.push(readItem(s, at('State', i)));
  }
  return items;
}

function writeItem(w: DerWriter, item: StateItem, f: Path): void {
  switch (item?.type) {
    case 'schedule':
      w.begin(0xa3);
      writeScheduleItem(w, item.item, f, '.schedule');
      break;
    case 'queue':
      w.begin(0xa4);
      writeQueue(w, item.queue, f, '.queue');
      break;
    case 'dropped-platform':
      w.begin(0xa5);
      w.utf8(item.platform, f, '.platform');
      break;
    default:
      return; // obsolete items are never written, as in the original
  }
  w.end();
}

/** Encodes a state file as the original writes it: schedule items as [3], obsolete items left out. */
export function encodeState(state: State): Uint8Array {
  return encodeDer(state, (w, items) => {
    w.begin(ID.SEQUENCE);
    for (let i = 0; i < items.length; i++) writeItem(w, items[i]!, at('State', i));
    w.end();
  });
}
