// A new run's uuid: random (version 4) as protocol/uuid.ts makes them, from random bytes drawn 256 uuids at a
// time. One randomFillSync per run cost an OpenSSL generator call and a getpid system call each (about 1% of
// the server's main thread in bench/dispatch.ts).
import { randomFillSync } from 'node:crypto';
import type { Uuid } from '../protocol/types.ts';

const PER_FILL = 256;
const pool = new Uint8Array(16 * PER_FILL);
let next = PER_FILL;

export function newRunUuid(): Uuid {
  if (next === PER_FILL) {
    randomFillSync(pool);
    next = 0;
  }
  const u = pool.slice(next * 16, next * 16 + 16);
  // each uuid's bytes are used once: zeroed in the pool when taken
  pool.fill(0, next * 16, next * 16 + 16);
  next++;
  u[6] = (u[6]! & 0x0f) | 0x40;
  u[8] = (u[8]! & 0x3f) | 0x80;
  return u;
}
