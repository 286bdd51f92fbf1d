// Period ::= CHOICE { [0] NULL -- hourly, [1] NULL -- daily, [2] NULL -- weekly, [3] NULL -- never }
import { ProtocolError, ProtocolErrorCode as E } from '../errors/protocol-error.ts';
import { CONTEXT, DerCursor, type DerNode, NULL_NODE, explicit, serialize, tagName } from './der.ts';
import type { Period } from './types.ts';

export const PERIODS: readonly Period[] = ['hourly', 'daily', 'weekly', 'never'];

export function readPeriod(c: DerCursor, field: string): Period {
  const tlv = c.next(field);
  const period = tlv.cls === CONTEXT && tlv.constructed ? PERIODS[tlv.tagNo] : undefined;
  if (!period) {
    throw new ProtocolError(E.UNEXPECTED_TAG, `${field}: expected a Period ([0]..[3]), got ${tagName(tlv.cls, tlv.constructed, tlv.tagNo)}`, { field });
  }
  const inner = c.enter(tlv, field);
  inner.null(field);
  inner.done(field);
  return period;
}

export function periodNode(p: Period, field: string): DerNode {
  const i = PERIODS.indexOf(p);
  if (i < 0) throw new ProtocolError(E.INVALID_VALUE, `${field}: unknown period ${JSON.stringify(p)}`, { field });
  return explicit(i, NULL_NODE);
}

export function decodePeriod(der: Uint8Array): Period {
  const c = DerCursor.of(der, 'Period');
  const p = readPeriod(c, 'Period');
  c.done('Period');
  return p;
}

export function encodePeriod(p: Period): Uint8Array {
  return serialize(periodNode(p, 'Period'));
}
