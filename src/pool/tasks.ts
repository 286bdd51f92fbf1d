// The tasks run in the pool's worker threads: hashing and encoding large messages.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { move } from 'piscina';
import { encodeCmd } from '../protocol/cmd-codec.ts';
import { encodeExec } from '../protocol/exec-codec.ts';
import type { Cmd, Exec } from '../protocol/types.ts';

export type Task =
  | { kind: 'sha256'; data: Uint8Array }
  | { kind: 'sha256-file'; path: string; start?: number; end?: number }
  | { kind: 'encode-cmd'; cmd: Cmd }
  | { kind: 'encode-exec'; exec: Exec };

/** A result buffer that owns its whole ArrayBuffer, so it can be moved back without a copy. */
function movable(b: Uint8Array): Uint8Array {
  const own = b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer ? b : new Uint8Array(b);
  return move(own) as unknown as Uint8Array;
}

async function hashFile(path: string, start?: number, end?: number): Promise<Uint8Array> {
  const hash = createHash('sha256');
  // an empty range reads nothing (createReadStream refuses end < start)
  if (start !== undefined && end !== undefined && end <= start) return hash.digest();
  const range = end !== undefined ? { start: start ?? 0, end: end - 1 } : start !== undefined ? { start } : {};
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024, ...range })) hash.update(chunk as Buffer);
  return hash.digest();
}

export default async function run(task: Task): Promise<Uint8Array> {
  switch (task.kind) {
    case 'sha256':
      return movable(createHash('sha256').update(task.data).digest());
    case 'sha256-file':
      return movable(await hashFile(task.path, task.start, task.end));
    case 'encode-cmd':
      return movable(encodeCmd(task.cmd));
    case 'encode-exec':
      return movable(encodeExec(task.exec));
  }
}
