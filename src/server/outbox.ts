// Uploads of results to --upload. Each is durable in the store before it is tried; a failed one is
// retried with backoff (the original gives up at once and keeps the file), and survives restarts.
import { readFile } from 'node:fs/promises';
import type { EventBus } from '../observability/events.ts';
import type { Clock, TimerHandle } from '../scheduler/clock.ts';
import type { OutboxEntry, Persistence } from './persistence.ts';
import { backoffMs, postResult, redactUrl } from './upload-request.ts';

export class Outbox {
  private readonly entries = new Map<string, OutboxEntry>();
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
        await this.attempt(e);
      }
    } finally {
      this.running = false;
      this.schedule();
    }
  }

  private async attempt(e: OutboxEntry): Promise<void> {
    let body: Uint8Array;
    try {
      body = new Uint8Array(await readFile(e.path));
    } catch (err) {
      this.bus.log('error', 'upload: the result file is gone, dropping the upload', { uuid: e.uuid, path: e.path, error: String(err) });
      this.entries.delete(e.id);
      await this.persistence.commit({ deleteOutbox: [e.id] });
      return;
    }
    const outcome = await postResult(e.url, body);
    if (outcome.ok) {
      this.entries.delete(e.id);
      await this.persistence.commit({ deleteOutbox: [e.id] });
      this.bus.emit('upload:done', { uuid: e.uuid, url: redactUrl(e.url), status: outcome.status });
      return;
    }
    const attempts = e.attempts + 1;
    const updated: OutboxEntry = { ...e, attempts, nextAttemptAt: this.clock.now() + backoffMs(attempts), lastError: outcome.error ?? 'unknown error' };
    this.entries.set(e.id, updated);
    await this.persistence.commit({ putOutbox: [updated] });
    this.bus.emit('upload:failed', { uuid: e.uuid, url: redactUrl(e.url), error: updated.lastError!, attempts, nextAttemptAt: updated.nextAttemptAt });
  }
}
