// One shared, lazily created Piscina pool for CPU work that must not block the event loop:
// SHA-256 of artifacts and the encoding of large messages. Small messages are encoded inline.
import type { Piscina } from 'piscina';
import { cpus } from 'node:os';
import { bulkBytesOfCmd, encodeCmd } from '../protocol/cmd-codec.ts';
import { bulkBytesOfExec, encodeExec } from '../protocol/exec-codec.ts';
import type { Cmd, Exec } from '../protocol/types.ts';
import type { Task } from './tasks.ts';

/**
 * Messages with fewer bytes than this in large byte arrays (bulkBytesOfCmd / bulkBytesOfExec) are
 * encoded on the calling thread. Object-heavy messages (an InfoReply of 100k jobs) always are:
 * structured cloning their graph to a worker costs more than encoding it (bench/codec.ts).
 */
export const INLINE_ENCODE_THRESHOLD = 1024 * 1024;

/** Whether a Cmd is worth encoding in a worker. */
export function encodesOffThread(cmd: Cmd): boolean {
  return bulkBytesOfCmd(cmd) >= INLINE_ENCODE_THRESHOLD;
}

export interface TransferOption {
  /**
   * Move the caller's buffers to the worker instead of copying them. The caller must not use them
   * afterwards (they become detached). Buffers sharing their ArrayBuffer with other data are copied.
   */
  transfer?: boolean;
}

// piscina (and worker_threads) is loaded on first use: a client command that never needs a thread does not pay for it
let pool: Promise<Piscina> | undefined;

/** Defined (true) in the dist/ bundle by scripts/build.mjs, whose worker entry is dist/pool-worker.js. */
declare const BUILDER_BUNDLE: boolean | undefined;
const WORKER_FILE = typeof BUILDER_BUNDLE === 'undefined' ? './worker.mjs' : '../../dist/pool-worker.js';

function getPool(): Promise<Piscina> {
  pool ??= import('piscina').then(
    ({ Piscina }) =>
      new Piscina({
        filename: new URL(WORKER_FILE, import.meta.url).href,
        maxThreads: Math.max(1, Math.min(4, cpus().length)),
        idleTimeout: 30_000,
      }),
  );
  return pool;
}

/** The ArrayBuffers of these views that may be moved: each view must cover its whole buffer. */
function transferables(views: Uint8Array[]): ArrayBuffer[] {
  const seen = new Set<ArrayBuffer>();
  for (const v of views) {
    const b = v.buffer;
    if (b instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === b.byteLength && b.byteLength > 0) seen.add(b);
  }
  return [...seen];
}

function run(task: Task, views: Uint8Array[], opts?: TransferOption): Promise<Uint8Array> {
  const transferList = opts?.transfer ? transferables(views) : [];
  return getPool().then((p) => p.run(task, { transferList }) as Promise<Uint8Array>);
}

/** SHA-256 of a buffer, computed in a worker (32 bytes). */
export function sha256(data: Uint8Array, opts?: TransferOption): Promise<Uint8Array> {
  return run({ kind: 'sha256', data }, [data], opts);
}

/** SHA-256 of a file, or of its bytes [start, end), streamed in a worker. */
export function sha256File(path: string, range?: { start: number; end: number }): Promise<Uint8Array> {
  return run({ kind: 'sha256-file', path, ...range }, []);
}

function cmdViews(cmd: Cmd): Uint8Array[] {
  if (cmd.type === 'job-finished') return cmd.files.map((f) => f.data);
  return [];
}

/** Encodes a Cmd: in a worker when dominated by large byte arrays, inline otherwise; the result is moved back, not copied. */
export async function encodeCmdOffThread(cmd: Cmd, opts?: TransferOption): Promise<Uint8Array> {
  if (!encodesOffThread(cmd)) return encodeCmd(cmd);
  return run({ kind: 'encode-cmd', cmd }, cmdViews(cmd), opts);
}

export async function encodeExecOffThread(exec: Exec, opts?: TransferOption): Promise<Uint8Array> {
  if (bulkBytesOfExec(exec) < INLINE_ENCODE_THRESHOLD) return encodeExec(exec);
  return run({ kind: 'encode-exec', exec }, [...exec.files.map((f) => f.data), ...exec.console.map((l) => l.line)], opts);
}

/** Stops the pool's threads (a new pool is created on next use). */
export async function destroyPool(): Promise<void> {
  const p = pool;
  pool = undefined;
  if (p) await (await p).destroy();
}
