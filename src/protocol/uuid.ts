// UUIDs travel as their 16 raw bytes; the text form is for people, paths and URLs.
import { randomBytes } from 'node:crypto';
import { ProtocolError, ProtocolErrorCode as E } from '../errors/protocol-error.ts';
import type { Uuid } from './types.ts';

const TEXT = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function uuidToString(u: Uuid): string {
  if (u.length !== 16) throw new ProtocolError(E.BAD_UUID, `uuid of ${u.length} bytes, expected 16`);
  const h = Buffer.from(u.buffer, u.byteOffset, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function uuidFromString(s: string): Uuid {
  if (!TEXT.test(s)) throw new ProtocolError(E.BAD_UUID, `not a UUID: ${JSON.stringify(s.slice(0, 64))}`);
  return new Uint8Array(Buffer.from(s.replaceAll('-', ''), 'hex'));
}

/** A random (version 4) UUID. */
export function randomUuid(): Uuid {
  const u = new Uint8Array(randomBytes(16));
  u[6] = (u[6]! & 0x0f) | 0x40;
  u[8] = (u[8]! & 0x3f) | 0x80;
  return u;
}

export function uuidEquals(a: Uuid, b: Uuid): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
