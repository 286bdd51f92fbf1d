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
// Lazy changes: see turn-batches.ts.
import type { RootDatabase } from 'lmdb';
import { runEach, settle, TurnBatches, type Change, type Outcome } from './turn-batches.ts';

/** Batches of at most this many changes are written on the main thread. */
export const SYNC_BATCH_MAX = 2;

export class CommitBatcher {
  private readonly batches = new TurnBatches<() => unknown>((batch) => this.write(batch));

  constructor(private readonly root: RootDatabase) {}

  /** Runs `work` inside a write transaction; resolves with its result once its batch is durable. */
  run<T>(work: () => T, lazy = false): Promise<T> {
    return this.batches.add<T>(work, lazy);
  }

  /** Waits until every change asked for so far is written (before closing the environment). */
  drain(): Promise<void> {
    return this.batches.drain();
  }

  private async write(batch: Change<() => unknown>[]): Promise<void> {
    let outcomes: Outcome[] = [];
    const body = (): void => {
      outcomes = runEach(batch, (work) => this.root.childTransaction(work as () => any));
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
      for (const c of batch) c.reject(error);
      return;
    }
    settle(batch, outcomes);
  }
}
