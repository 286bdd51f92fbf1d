// SHA-256 of upload contents, computed in the worker pool (off the main thread), as lowercase hex.
import { sha256 } from '../pool/pool.ts';

export type Hasher = (data: Uint8Array) => Promise<string>;

export const defaultHasher: Hasher = async (data) => Buffer.from(await sha256(data)).toString('hex');
