// Period ::= CHOICE { [0] NULL -- hourly, [1] NULL -- daily, [2] NULL -- weekly, [3] NULL -- never }
import { ProtocolErrorCode as E } from '../errors/protocol-error.ts';
import { CONTEXT, DerCursor, type DerWriter, ID, type Key, type Path, encodeDer, fail, tagName } from './der.ts';
import type { Period } from './types.ts';

export const PERIODS: readonly Period[] = ['hourly', 'daily', 'weekly', 'never'];

export function readPeriod(c: DerCursor, field: Path, key?: Key): Period {
  c.read(field, key);
  const period = c.cls === CONTEXT && c.constructed ? PERIODS[c.tagNo] : undefined;
  if (!period) fail(E.UNEXPECTED_TAG, field, key, `expected a Period ([0]..[3]), got ${tagName(c.cls, c.constructed, c.tagNo)}`);
  const inner = c.enterLast(field, key);
  inner.null(field, key);
  inner.done(field, key);
  return period;
}

export function writePeriod(w: DerWriter, p: Period, field: Path, key?: Key): void {
  const i = PERIODS.indexOf(p);
  if (i < 0) fail(E.INVALID_VALUE, field, key, `unknown period ${JSON.stringify(p)}`);
  w.begin(ID.context(i));
  w.null();
  w.end();
}

export function decodePeriod(der: Uint8Array): Period {
  const c = DerCursor.of(der, 'Period');
  const p = readPeriod(c, 'Period');
  c.done('Period');
  return p;
}

export function encodePeriod(p: Period): Uint8Array {
  return encodeDer(p, (w, v) => writePeriod(w, v, 'Period'));
}
