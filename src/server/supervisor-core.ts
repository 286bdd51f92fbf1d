// The supervisor's shared state and the few helpers every part of it uses: the schedule, the
// per-platform queues, dropped platforms, runs, waiting workers and worker actors, and the one
// path (commit) by which a change becomes durable. The parts (schedule-commands, platform-queues,
// run-assignment, run-completion, worker-events, ...) are functions over this core.
import { createActor, type Actor, type InspectionEvent, type Observer } from 'xstate';
import type { jobRunMachine } from '../../machines/job-run.ts';
import { supervisorMachine } from '../../machines/supervisor.ts';
import type { workerConnectionMachine } from '../../machines/worker-connection.ts';
import type { EventBus } from '../observability/events.ts';
import type { CatchUp, Exec, Job, ScriptJob, Uuid } from '../protocol/types.ts';
import type { Clock, TimerHandle } from '../scheduler/clock.ts';
import { ConsoleBuffer } from './console-buffer.ts';
import { DueHeap } from './due-heap.ts';
import type { JobQueue } from './job-queue.ts';
import { OrbTemplates } from './orb-templates.ts';
import { diskFullError } from './disk-full.ts';
import type { ProcessStats } from '../observability/process-stats.ts';
import type { Change, OutboxEntry, Persistence, ScheduleEntry, Trigger } from './persistence.ts';

export const NO_PLATFORM = 'no-platform';
/** What the original writes for `never` (Ptime.max, as GeneralizedTime keeps milliseconds). */
export const NEVER_DATE = new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999));

export interface SupervisorOptions {
  persistence: Persistence;
  clock: Clock;
  bus: EventBus;
  /** --dir: results go to <dir>/<job>/<uuid>/full */
  dir: string;
  /** --config-dir: orb-build.template.<platform> */
  configDir: string;
  upload?: string;
  defaultTimeoutSeconds?: number;
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** bounds of a running job's console held in memory (and so of its result file) */
  consoleMaxBytes?: number;
  consoleMaxLines?: number;
  /** called once an upload outbox entry is durable */
  onOutbox?: (entry: OutboxEntry) => void;
  /** the process's stalls (GC pauses, store flushes), shown in the extended info */
  stats?: ProcessStats;
}

export interface WorkerHandle {
  id: string;
  remote: string;
  close(reason: string): void;
}

export interface Assignment {
  uuid: Uuid;
  job: ScriptJob;
}

export interface Waiter {
  worker: WorkerHandle;
  platform: string;
  resolve: (a: Assignment) => void;
}

export type JobRunActor = Actor<typeof jobRunMachine>;
export type WorkerActor = Actor<typeof workerConnectionMachine>;

export interface Run {
  uuid: string;
  uuidBytes: Uuid;
  actor: JobRunActor;
  queued: Job;
  job?: ScriptJob;
  console: ConsoleBuffer;
  timer?: TimerHandle;
  worker?: WorkerHandle;
}

export interface ScheduleRequest {
  job: Job;
  trigger: Trigger;
  timeoutSeconds?: number;
  catchUp?: CatchUp;
  paused?: boolean;
  origin?: ScheduleEntry['origin'];
  /** queue at once (the original's schedule does; cron jobs wait for their first time) */
  queueNow?: boolean;
}

export const qkey = (platform: string, name: string) => `${platform}\u0000${name}`;

export function jobPlatform(job: Job): string | undefined {
  return job.type === 'script' ? (job.platform ?? NO_PLATFORM) : undefined;
}

export function isEmpty(change: Change): boolean {
  return Object.values(change).every((v) => v === undefined || (Array.isArray(v) && v.length === 0));
}

/** The longest a deferred actor snapshot waits for a commit to go with (persistDeferred). */
export const DEFERRED_MS = 50;

export class SupervisorCore {
  readonly schedule = new Map<string, ScheduleEntry>();
  readonly queues = new Map<string, JobQueue>();
  readonly dropped = new Set<string>();
  readonly runs = new Map<string, Run>();
  /** requeued runs waiting for a worker again, by platform and job name */
  readonly waitingRuns = new Map<string, string>();
  readonly waiters = new Map<string, Waiter[]>();
  /** platform and name of every job with a worker now: a job never runs twice at once on a platform */
  readonly active = new Set<string>();
  readonly workers = new Map<string, WorkerActor>();
  readonly due = new DueHeap();
  readonly templates: OrbTemplates;
  tickTimer?: TimerHandle;
  tickAt?: number;
  readonly lifecycle;
  stopped = false;
  readonly pendingWrites = new Set<Promise<unknown>>();
  /** told once a result is durable (the web store records it without an HTTP round trip) */
  readonly resultListeners: ((exec: Exec, bytes: Uint8Array, file: string) => Promise<void> | void)[] = [];
  /** result listeners still running: a server stopping waits for them before closing what they write to */
  readonly listenersInFlight = new Set<Promise<void>>();

  constructor(readonly opts: SupervisorOptions) {
    this.templates = new OrbTemplates(opts.configDir);
    this.lifecycle = createActor(supervisorMachine, { input: { startedAt: opts.clock.now() }, inspect: opts.inspect });
    this.lifecycle.start();
  }

  get clock(): Clock {
    return this.opts.clock;
  }

  get bus(): EventBus {
    return this.opts.bus;
  }

  get defaultTimeoutSeconds(): number {
    return this.opts.defaultTimeoutSeconds ?? 3600;
  }

  phase(): string {
    return String(this.lifecycle.getSnapshot().value);
  }

  now(): number {
    return this.opts.clock.now();
  }

  newConsole(): ConsoleBuffer {
    return new ConsoleBuffer(this.opts.consoleMaxBytes, this.opts.consoleMaxLines);
  }

  stateOf(run: Run): string {
    return String(run.actor.getSnapshot().value);
  }

  timeoutMs(name: string): number {
    return (this.schedule.get(name)?.timeoutSeconds ?? this.defaultTimeoutSeconds) * 1000;
  }

  commit(change: Change): Promise<void> {
    const after = change.after;
    const undo = change.undo;
    delete change.after;
    delete change.undo;
    // Deferred snapshots go with it, before its own changes: one sync, and nothing written after a later change of
    // its actor. In the same change, not a change of their own beside it: a batch whose one change fails (a full
    // disk) is then as it was before deferring (lmdb-js was seen to corrupt its heap when a large value failed
    // beside another child transaction). A failed commit drops them: nothing is recovered from them.
    const p = this.opts.persistence.commit(this.deferred.size > 0 ? this.withDeferred(change) : change).catch((e) => {
      if (undo) for (const f of undo.reverse()) f();
      throw diskFullError(e, this.opts.dir) ?? e;
    });
    if (after) {
      p.then(
        () => after.forEach((f) => f()),
        (e) => {
          this.bus.log('error', 'persisting an assignment failed; handing it out anyway', { error: String(e) });
          after.forEach((f) => f());
        },
      );
    }
    this.pendingWrites.add(p);
    p.finally(() => this.pendingWrites.delete(p)).catch(() => {});
    return p;
  }

  persistLater(change: Change): void {
    this.commit(change).catch((e) => this.bus.log('error', 'persisting a change failed', { error: String(e) }));
  }

  // Actor snapshots that nothing is recovered from (a worker connection's, which recovery deletes; a run's start,
  // which recovery requeues like an assignment): written with the next commit, or within DEFERRED_MS when none
  // comes, rather than each with a disk sync of its own (three or four per job for a worker that asks, runs and
  // reports). Keyed by actor: only its latest snapshot (or its deletion) is written.
  private readonly deferred = new Map<string, () => Change>();
  private deferTimer: TimerHandle | undefined;

  persistDeferred(key: string, make: () => Change): void {
    this.deferred.set(key, make);
    this.deferTimer ??= this.clock.setTimeout(() => {
      this.deferTimer = undefined;
      if (this.deferred.size > 0) this.flushDeferred();
    }, DEFERRED_MS);
  }

  /**
   * The deferred snapshots taken out, ahead of change's own (a new object; change is not modified). The snapshot of
   * an actor that change deletes is not taken: in the same transaction, it would be written only to be deleted.
   */
  private withDeferred(change: Change): Change {
    for (const a of change.deleteActor ?? []) this.deferred.delete(`${a.kind}:${a.id}`);
    const merged = this.takeDeferred();
    return {
      ...change,
      putActor: [...(merged.putActor ?? []), ...(change.putActor ?? [])],
      deleteActor: [...(merged.deleteActor ?? []), ...(change.deleteActor ?? [])],
    };
  }

  private takeDeferred(): Change {
    if (this.deferTimer) this.clock.clearTimeout(this.deferTimer);
    this.deferTimer = undefined;
    const merged: Change = {};
    for (const make of this.deferred.values()) {
      const c = make();
      if (c.putActor) (merged.putActor ??= []).push(...c.putActor);
      if (c.deleteActor) (merged.deleteActor ??= []).push(...c.deleteActor);
    }
    this.deferred.clear();
    return merged;
  }

  /** Writes the deferred snapshots now, in a commit of their own (their timer, and at stop). */
  flushDeferred(): void {
    if (this.deferred.size === 0) {
      if (this.deferTimer) this.clock.clearTimeout(this.deferTimer);
      this.deferTimer = undefined;
      return;
    }
    const merged = this.takeDeferred();
    const p = this.opts.persistence.commit(merged).catch((e) => this.bus.log('error', 'persisting actor snapshots failed', { error: String(e) }));
    this.pendingWrites.add(p);
    void p.finally(() => this.pendingWrites.delete(p));
  }
}
