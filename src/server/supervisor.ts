// The supervisor owns the schedule, the per-platform queues, the dropped platforms, and every job-run
// and worker-connection actor. Each command changes memory synchronously (so commands are serialised
// by the event loop), then persists one atomic change, and the caller answers only once it is durable.
// This class is the coordinator: the state is in supervisor-core.ts, each concern in its own file.
import type { JobRunContext } from '../../machines/job-run.ts';
import type { File, Info, Period, Result } from '../protocol/types.ts';
import type { Clock } from '../scheduler/clock.ts';
import type { EventBus } from '../observability/events.ts';
import type { ConsoleBuffer, ConsoleObserver } from './console-buffer.ts';
import type { HistoryEntry, ScheduleEntry } from './persistence.ts';
import * as commands from './schedule-commands.ts';
import * as workerEvents from './worker-events.ts';
import { latestRun, observe } from './run-observe.ts';
import { recover } from './supervisor-recovery.ts';
import { info, infoExtended, type InfoExtended } from './supervisor-info.ts';
import { tick } from './schedule-timer.ts';
import { SupervisorCore, type Assignment, type ScheduleRequest, type SupervisorOptions, type WorkerHandle } from './supervisor-core.ts';
import type { JobQueue } from './job-queue.ts';

export { NO_PLATFORM, NEVER_DATE, jobPlatform } from './supervisor-core.ts';
export type { Assignment, ScheduleRequest, SupervisorOptions, WorkerHandle } from './supervisor-core.ts';
export type { InfoExtended } from './supervisor-info.ts';

export class Supervisor {
  private readonly core: SupervisorCore;

  constructor(opts: SupervisorOptions) {
    this.core = new SupervisorCore(opts);
  }

  get schedule(): Map<string, ScheduleEntry> {
    return this.core.schedule;
  }

  get queues(): Map<string, JobQueue> {
    return this.core.queues;
  }

  get dropped(): Set<string> {
    return this.core.dropped;
  }

  get resultListeners(): SupervisorCore['resultListeners'] {
    return this.core.resultListeners;
  }

  get clock(): Clock {
    return this.core.clock;
  }

  get bus(): EventBus {
    return this.core.bus;
  }

  get defaultTimeoutSeconds(): number {
    return this.core.defaultTimeoutSeconds;
  }

  phase(): string {
    return this.core.phase();
  }

  start(): Promise<void> {
    return recover(this.core);
  }

  /** Called before the connections are closed: runs then lost are requeued as stopped by the server. */
  beginStop(): void {
    if (this.phase() === 'serving') this.core.lifecycle.send({ type: 'STOP', at: this.core.now() });
  }

  /** Waits for the result listeners still running (the web recording a build) and the writes in flight. */
  async settleResults(): Promise<void> {
    while (this.core.listenersInFlight.size > 0) await Promise.allSettled([...this.core.listenersInFlight]);
  }

  async stop(): Promise<void> {
    const core = this.core;
    if (core.stopped) return;
    this.beginStop();
    core.stopped = true;
    if (core.tickTimer) core.clock.clearTimeout(core.tickTimer);
    for (const run of core.runs.values()) if (run.timer) core.clock.clearTimeout(run.timer);
    core.flushDeferred();
    await Promise.allSettled([...core.pendingWrites]);
    for (const run of core.runs.values()) run.actor.stop();
    for (const w of core.workers.values()) w.stop();
    core.lifecycle.send({ type: 'STOPPED', at: core.now() });
  }

  // ---- client commands ----

  scheduleJob(req: ScheduleRequest): Promise<void> {
    return commands.scheduleJob(this.core, req);
  }

  unschedule(name: string): Promise<void> {
    return commands.unschedule(this.core, name);
  }

  execute(name: string, platform?: string): Promise<void> {
    return commands.execute(this.core, name, platform);
  }

  reschedule(name: string, next: Date, period?: Period): Promise<void> {
    return commands.reschedule(this.core, name, next, period);
  }

  dropPlatform(platform: string): Promise<void> {
    return commands.dropPlatform(this.core, platform);
  }

  undropPlatform(platform: string): Promise<void> {
    return commands.undropPlatform(this.core, platform);
  }

  /** Stops (pauses) or starts a job: a stopped job stays scheduled but is never queued by time. */
  setPaused(name: string, paused: boolean): Promise<void> {
    return commands.setPaused(this.core, name, paused);
  }

  info(): Info {
    return info(this.core);
  }

  infoExtended(): InfoExtended {
    return infoExtended(this.core);
  }

  history(name: string, limit?: number): HistoryEntry[] {
    return this.core.opts.persistence.history(name, limit);
  }

  historyEntry(uuid: string): HistoryEntry | undefined {
    return this.core.opts.persistence.historyByUuid(uuid);
  }

  /** Runs not finished yet (waiting again, assigned, running, uploading). */
  activeRuns(): { uuid: string; state: string; context: JobRunContext; console: ConsoleBuffer }[] {
    return [...this.core.runs.values()].map((r) => ({ uuid: r.uuid, state: this.core.stateOf(r), context: r.actor.getSnapshot().context, console: r.console }));
  }

  /** The run of a uuid, for the web's lifecycle view and `builder inspect`. */
  runContext(uuid: string): { state: string; context: JobRunContext } | undefined {
    const run = this.core.runs.get(uuid);
    if (!run) return undefined;
    return { state: this.core.stateOf(run), context: run.actor.getSnapshot().context };
  }

  consoleOf(uuid: string): ConsoleBuffer | undefined {
    return this.core.runs.get(uuid)?.console;
  }

  // ---- observe ----

  observe(uuid: string, observer: ConsoleObserver): Promise<() => void> {
    return observe(this.core, uuid, observer);
  }

  latestRun(opts: { job?: string; platform?: string }): string | undefined {
    return latestRun(this.core, opts);
  }

  // ---- workers ----

  workerConnected(worker: WorkerHandle): void {
    workerEvents.workerConnected(this.core, worker);
  }

  requestJob(worker: WorkerHandle, platform: string): Promise<Assignment> {
    return workerEvents.requestJob(this.core, worker, platform);
  }

  started(uuid: string): void {
    workerEvents.started(this.core, uuid);
  }

  output(uuid: string, line: Uint8Array): void {
    workerEvents.output(this.core, uuid, line);
  }

  finished(uuid: string, result: Result, files: File[]): Promise<void> {
    return workerEvents.finished(this.core, uuid, result, files);
  }

  workerGone(worker: WorkerHandle, reason: string): void {
    workerEvents.workerGone(this.core, worker, reason);
  }

  workerFinished(worker: WorkerHandle, uuid: string): void {
    workerEvents.workerFinished(this.core, worker, uuid);
  }

  // ---- time ----

  tick(): Promise<void> {
    return tick(this.core);
  }
}
