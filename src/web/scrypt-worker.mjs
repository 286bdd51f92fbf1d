// The web's password-check thread: scrypt runs here, synchronously, so it never takes a slot of libuv's
// thread pool, which the server needs for its file reads and writes. Plain JavaScript: loaded as is both
// from src/ (tsx) and from the dist/ bundle.
import { scryptSync } from 'node:crypto';

export default function derive({ password, salt, keylen, N, r, p }) {
  return scryptSync(password, Buffer.from(salt, 'hex'), keylen, { N, r, p, maxmem: 64 * 1024 * 1024 }).toString('hex');
}
