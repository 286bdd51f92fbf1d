// Group commit. Every change asked for during one turn of the event loop is written in one LMDB
// transaction, synced to disk before any of their promises resolve. Each change runs in its own
// child transaction, so one that throws is rolled back alone and the others still commit. One batch
// is written at a time; changes asked for meanwhile wait for the next.
//
// A small batch (the usual case: one command) is written synchronously on the main thread: lmdb-js's
// asynchronous transactions hand the work between the main thread and the writer thread several
// times, and on a busy two-core host those hand-offs, not the disk, made the p99 of one awaited
// commit ~3 ms (this way ~1 ms). A larger batch (many workers reporting at once) goes to the writer
// thread, so the disk sync overlaps the main thread's work and throughput under load stays up.
// A synchronous commit waits for LMDB's one write lock: behind another process's transaction
// (`builder user`, `builder vacuum`) or an lmdb-js asynchronous put of this one. All of these are
// small metadata writes; artifact contents are files (web/artifact-store.ts), never LMDB values.
//
// A lazy change (nobody waits on it at once: a run's end, whose worker has gone on to its next job) lets
// its batch wait one more turn of the event loop, with whatever I/O came in meanwhile read first. A worker
// sends its next JobRequested right after its JobFinished: that assignment's change then shares the run's
// end's commit, one sync for both (1.5 commits per job instead of 1.9 with two looping workers, measured). A
// batch with any change that is not lazy is written at the first turn, as before.
import type { RootDatabase } from 'lmdb';

/** Batches of at most this many changes are written on the main thread. */
export const SYNC_BATCH_MAX = 2;

interface Pending {
  work: () => unknown;
  lazy: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

const turn = (): Promise<void> => new Promise<void>((r) => setImmediate(r));

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export class CommitBatcher {
  private pending: Pending[] = [];
  /** set while a batch is scheduled or being written */
  private busy: Promise<void> | undefined;

  constructor(private readonly root: RootDatabase) {}

  /** Runs `work` inside a write transaction; resolves with its result once its batch is durable. */
  run<T>(work: () => T, lazy = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ work, lazy, resolve: resolve as (v: unknown) => void, reject });
      if (!this.busy) this.busy = this.loop();
    });
  }

  /** Waits until every change asked for so far is written (before closing the environment). */
  async drain(): Promise<void> {
    while (this.busy) await this.busy;
  }

  private async loop(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        await turn();
        // an immediate set now runs at the next turn, after that turn's I/O callbacks
        if (this.pending.every((p) => p.lazy)) await turn();
        const batch = this.pending;
        this.pending = [];
        await this.write(batch);
      }
    } finally {
      this.busy = undefined;
    }
  }

  private async write(batch: Pending[]): Promise<void> {
    const outcomes: Outcome[] = [];
    const body = (): void => {
      for (const p of batch) {
        try {
          outcomes.push({ ok: true, value: this.root.childTransaction(p.work as () => any) });
        } catch (error) {
          outcomes.push({ ok: false, error });
        }
      }
    };
    try {
      if (batch.length <= SYNC_BATCH_MAX) {
        this.root.transactionSync(body);
      } else {
        await this.root.transaction(body);
        await this.root.flushed;
      }
    } catch (error) {
      // the batch failed to commit as a whole (disk full, map full...): nothing of it was written
      for (const p of batch) p.reject(error);
      return;
    }
    batch.forEach((p, i) => {
      const o = outcomes[i]!;
      if (o.ok) p.resolve(o.value);
      else p.reject(o.error);
    });
  }
}
