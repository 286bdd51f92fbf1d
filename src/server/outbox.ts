// Uploads of results to --upload. Each is durable in the store before it is tried; a failed one is
// retried with backoff (the original gives up at once and keeps the file), and survives restarts.
import { readFile } from 'node:fs/promises';
import type { EventBus } from '../observability/events.ts';
import type { Clock, TimerHandle } from '../scheduler/clock.ts';
import type { OutboxEntry, Persistence } from './persistence.ts';
import { backoffMs, postResult, redactUrl } from './upload-request.ts';

export class Outbox {
  private readonly entries = new Map<string, OutboxEntry>();
  /** uploads done whose removal from the store failed (a full disk), with the HTTP status: not sent again */
  private readonly uploaded = new Map<string, number>();
  private readonly forgetTries = new Map<string, number>();
  private timer?: TimerHandle;
  private running = false;
  private stopped = false;

  constructor(
    private readonly persistence: Persistence,
    private readonly clock: Clock,
    private readonly bus: EventBus,
  ) {}

  load(entries: OutboxEntry[]): void {
    for (const e of entries) this.entries.set(e.id, e);
    this.schedule();
  }

  add(entry: OutboxEntry): void {
    this.entries.set(entry.id, entry);
    this.schedule();
  }

  pending(): OutboxEntry[] {
    return [...this.entries.values()];
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped || this.running) return;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    let at = Infinity;
    for (const e of this.entries.values()) at = Math.min(at, e.nextAttemptAt);
    if (at === Infinity) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, Math.max(0, at - this.clock.now()));
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (const e of [...this.entries.values()]) {
        if (this.stopped) return;
        if (e.nextAttemptAt > this.clock.now()) continue;
        await this.attempt(e).catch((err) => this.bus.log('error', 'upload: an attempt failed', { uuid: e.uuid, error: String(err) }));
      }
    } finally {
      this.running = false;
      this.schedule();
    }
  }

  private async attempt(e: OutboxEntry): Promise<void> {
    const done = this.uploaded.get(e.id);
    if (done !== undefined) return this.forget(e, done);
    let body: Uint8Array;
    try {
      body = new Uint8Array(await readFile(e.path));
    } catch (err) {
      this.bus.log('error', 'upload: the result file is gone, dropping the upload', { uuid: e.uuid, path: e.path, error: String(err) });
      return this.forget(e, undefined);
    }
    const outcome = await postResult(e.url, body);
    if (outcome.ok) {
      this.uploaded.set(e.id, outcome.status);
      return this.forget(e, outcome.status);
    }
    const attempts = e.attempts + 1;
    const updated: OutboxEntry = { ...e, attempts, nextAttemptAt: this.clock.now() + backoffMs(attempts), lastError: outcome.error ?? 'unknown error' };
    this.entries.set(e.id, updated);
    try {
      await this.persistence.commit({ putOutbox: [updated] });
    } catch (err) {
      // the store keeps the earlier attempt (a full disk): a restart only retries sooner
      this.bus.log('error', 'upload: the failed attempt could not be saved', { uuid: e.uuid, error: String(err) });
    }
    this.bus.emit('upload:failed', { uuid: e.uuid, url: redactUrl(e.url), error: updated.lastError!, attempts, nextAttemptAt: updated.nextAttemptAt });
  }

  /**
   * Drops the entry once the store has dropped it. While the store cannot (a full disk) it stays, as the
   * store has it, and only its removal is tried again later: an upload that was done is not sent again.
   */
  private async forget(e: OutboxEntry, status: number | undefined): Promise<void> {
    try {
      await this.persistence.commit({ deleteOutbox: [e.id] });
    } catch (err) {
      const tries = (this.forgetTries.get(e.id) ?? 0) + 1;
      this.forgetTries.set(e.id, tries);
      this.entries.set(e.id, { ...e, nextAttemptAt: this.clock.now() + backoffMs(tries) });
      this.bus.log('error', 'upload: the finished upload could not be removed from the store; retrying', { uuid: e.uuid, error: String(err) });
      return;
    }
    this.entries.delete(e.id);
    this.uploaded.delete(e.id);
    this.forgetTries.delete(e.id);
    if (status !== undefined) this.bus.emit('upload:done', { uuid: e.uuid, url: redactUrl(e.url), status });
  }
}
