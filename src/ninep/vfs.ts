// The small virtual file system the 9P server serves: synthetic directories and files whose
// contents are produced on demand and whose writes are commands. A node is looked up afresh on
// every walk, so a file that outlives its subject (a deleted job) answers ENOENT from its handlers.
import { QidType, type Qid } from './codec.ts';

export type Awaitable<T> = T | Promise<T>;

interface NodeBase {
  readonly name: string;
  /** Unique and stable for as long as the thing it shows exists. */
  readonly qidPath: bigint;
  /** Permission bits (e.g. 0o444); the directory / regular-file bits are added by the server. */
  readonly perm: number;
  /** Seconds since the epoch, for stat/getattr; the server's start time when absent. */
  readonly mtime?: number;
  /** Removes the thing the node shows (Tremove, Tunlinkat); absent means not removable. */
  remove?(): Awaitable<void>;
}

export interface VDir extends NodeBase {
  readonly kind: 'dir';
  list(): Awaitable<VNode[]>;
  lookup(name: string): Awaitable<VNode | undefined>;
}

export interface VFile extends NodeBase {
  readonly kind: 'file';
  /** The whole content; a reader's fid keeps the snapshot taken at offset 0 for the reads that follow. */
  read?(): Awaitable<Uint8Array>;
  /** One write is one command; returns nothing, the whole count is acknowledged. */
  write?(data: Uint8Array): Awaitable<void>;
}

export type VNode = VDir | VFile;

export function qidOf(node: VNode): Qid {
  return { type: node.kind === 'dir' ? QidType.DIR : QidType.FILE, version: 0, path: node.qidPath };
}

/** Hands out qid paths: one per distinct path string, stable for the server's lifetime. */
export class QidPaths {
  private readonly ids = new Map<string, bigint>();
  private next = 1n;
  of(path: string): bigint {
    let id = this.ids.get(path);
    if (id === undefined) {
      id = this.next++;
      this.ids.set(path, id);
    }
    return id;
  }
}

const encoder = new TextEncoder();
export const text = (s: string): Uint8Array => encoder.encode(s);

/** A directory with a fixed or computed set of children. */
export function dir(
  name: string,
  qidPath: bigint,
  children: () => Awaitable<VNode[]>,
  extra: { remove?: () => Awaitable<void>; perm?: number; lookup?: (name: string) => Awaitable<VNode | undefined> } = {},
): VDir {
  return {
    kind: 'dir',
    name,
    qidPath,
    perm: extra.perm ?? 0o555,
    list: children,
    lookup: extra.lookup ?? (async (n: string) => (await children()).find((c) => c.name === n)),
    ...(extra.remove ? { remove: extra.remove } : {}),
  };
}

/** A file whose content is computed at read time, optionally taking writes. */
export function file(
  name: string,
  qidPath: bigint,
  handlers: { read?: () => Awaitable<Uint8Array | string>; write?: (data: Uint8Array) => Awaitable<void> },
): VFile {
  const { read, write } = handlers;
  return {
    kind: 'file',
    name,
    qidPath,
    perm: (read ? 0o444 : 0) | (write ? 0o222 : 0),
    ...(read ? { read: async () => {
      const v = await read();
      return typeof v === 'string' ? text(v) : v;
    } } : {}),
    ...(write ? { write } : {}),
  };
}
