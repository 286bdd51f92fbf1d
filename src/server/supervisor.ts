// The supervisor owns the schedule, the per-platform queues, the dropped platforms, and every job-run
// and worker-connection actor. Each command changes memory synchronously (so commands are serialised
// by the event loop), then persists one atomic change, and the caller answers only once it is durable.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createActor, type Actor, type InspectionEvent, type Observer } from 'xstate';
import { jobRunMachine, type JobRunContext } from '../../machines/job-run.ts';
import { supervisorMachine } from '../../machines/supervisor.ts';
import { workerConnectionMachine } from '../../machines/worker-connection.ts';
import { CommandError } from '../errors/command-error.ts';
import type { EventBus } from '../observability/events.ts';
import { decodeExec, encodeExec } from '../protocol/exec-codec.ts';
import type { CatchUp, Exec, File, Info, Job, Period, Result, ScriptJob, Uuid } from '../protocol/types.ts';
import { randomUuid, uuidFromString, uuidToString } from '../protocol/uuid.ts';
import type { Clock, TimerHandle } from '../scheduler/clock.ts';
import { artifactPathProblem, jobNameProblem } from './artifact-path.ts';
import { ConsoleBuffer, type ConsoleObserver } from './console-buffer.ts';
import { DueHeap } from './due-heap.ts';
import { JobQueue } from './job-queue.ts';
import { newScheduleEntry, type Change, type HistoryEntry, type OutboxEntry, type Persistence, type RunningRecord, type ScheduleEntry, type Trigger } from './persistence.ts';
import { resultPath, writeDurably } from './result-file.ts';
import { ppResult as resultText } from '../protocol/pretty.ts';
import { catchUp } from '../scheduler/catch-up.ts';
import { firstRun, validateTrigger } from '../scheduler/trigger.ts';

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
  /** called once an upload outbox entry is durable */
  onOutbox?: (entry: OutboxEntry) => void;
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

interface Waiter {
  worker: WorkerHandle;
  platform: string;
  resolve: (a: Assignment) => void;
}

type JobRunActor = Actor<typeof jobRunMachine>;
type WorkerActor = Actor<typeof workerConnectionMachine>;

interface Run {
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

const qkey = (platform: string, name: string) => `${platform}\u0000${name}`;

export function jobPlatform(job: Job): string | undefined {
  return job.type === 'script' ? (job.platform ?? NO_PLATFORM) : undefined;
}

export class Supervisor {
  readonly schedule = new Map<string, ScheduleEntry>();
  readonly queues = new Map<string, JobQueue>();
  readonly dropped = new Set<string>();
  private readonly runs = new Map<string, Run>();
  /** requeued runs waiting for a worker again, by platform and job name */
  private readonly waitingRuns = new Map<string, string>();
  private readonly waiters = new Map<string, Waiter[]>();
  /** platform and name of every job with a worker now: a job never runs twice at once on a platform */
  private readonly active = new Set<string>();
  private readonly workers = new Map<string, WorkerActor>();
  private readonly due = new DueHeap();
  private tickTimer?: TimerHandle;
  private tickAt?: number;
  private readonly lifecycle;
  private stopped = false;
  private readonly pendingWrites = new Set<Promise<unknown>>();
  /** told once a result is durable (the web store records it without an HTTP round trip) */
  readonly resultListeners: ((exec: Exec, bytes: Uint8Array, file: string) => Promise<void> | void)[] = [];

  constructor(private readonly opts: SupervisorOptions) {
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

  // ---- start and recovery ----

  async start(): Promise<void> {
    const t0 = Date.now();
    const loaded = await this.opts.persistence.load();
    const now = this.now();
    this.lifecycle.send({ type: 'LOADED', at: now });
    for (const e of loaded.schedule) {
      this.schedule.set(e.name, e);
      if (!e.paused) this.due.set(e.name, e.next);
    }
    // A queued job is its schedule entry's job: share the object (half the objects at 100k queued jobs).
    const shared = (j: Job): Job => {
      const e = this.schedule.get(j.name);
      return e && e.job.type === j.type && (j.type === 'orb-build' || e.job.type === 'orb-build' || e.job.script === j.script) ? e.job : j;
    };
    for (const [p, jobs] of loaded.queues) this.queues.set(p, new JobQueue(jobs.map(shared)));
    for (const p of loaded.dropped) this.dropped.add(p);

    const change: Change = { deleteActor: [], putActor: [], deleteRunning: [], queue: [] };
    const snapshots = new Map<string, unknown>();
    for (const a of loaded.actors) {
      if (a.kind === 'worker') change.deleteActor!.push({ kind: 'worker', id: a.id });
      else snapshots.set(a.id, a.snapshot);
    }
    // Runs that were with a worker when the server stopped go back to the front of their queue.
    let requeued = 0;
    for (const r of loaded.running) {
      const run = this.restoreRun(r.uuid, snapshots.get(r.uuid), r.queued, r.platform, r.startedAt);
      snapshots.delete(r.uuid);
      run.actor.send({ type: 'REQUEUE', at: now, reason: 'server restarted' });
      change.deleteRunning!.push(r.uuid);
      change.putActor!.push({ kind: 'job', id: r.uuid, snapshot: run.actor.getPersistedSnapshot() });
      if (this.schedule.has(r.jobName)) {
        this.queueFront(r.platform, r.queued, change);
        this.waitingRuns.set(qkey(r.platform, r.jobName), r.uuid);
        requeued++;
        this.bus.emit('job:requeued', { uuid: r.uuid, name: r.jobName, platform: r.platform, reason: 'server restarted' });
      } else {
        this.finishUnscheduled(run, change);
      }
    }
    // Runs already waiting again (requeued before the stop) keep their identity.
    for (const [uuid, snapshot] of snapshots) {
      const ctx = (snapshot as { context?: JobRunContext; value?: string }).context;
      const value = (snapshot as { value?: string }).value;
      if (!ctx || value !== 'waiting') {
        change.deleteActor!.push({ kind: 'job', id: uuid });
        continue;
      }
      const queued = this.schedule.get(ctx.jobName)?.job;
      if (!queued) {
        change.deleteActor!.push({ kind: 'job', id: uuid });
        continue;
      }
      this.restoreRun(uuid, snapshot, queued, ctx.platform, undefined);
      this.waitingRuns.set(qkey(ctx.platform, ctx.jobName), uuid);
    }
    await this.commit(change);
    this.lifecycle.send({ type: 'RECOVERED', at: this.now(), requeued });
    this.bus.emit('server:recovered', {
      requeued,
      schedule: this.schedule.size,
      queued: [...this.queues.values()].reduce((n, q) => n + q.length, 0),
      ms: Date.now() - t0,
    });
    await this.tick();
  }

  private restoreRun(uuid: string, snapshot: unknown, queued: Job, platform: string, startedAt: number | undefined): Run {
    const valid = snapshot && typeof snapshot === 'object' && 'context' in snapshot;
    const actor = valid
      ? createActor(jobRunMachine, { snapshot, inspect: this.opts.inspect } as any)
      : createActor(jobRunMachine, {
          input: { uuid, jobName: queued.name, platform, queuedAt: startedAt ?? this.now(), timeoutMs: this.timeoutMs(queued.name) },
          inspect: this.opts.inspect,
        });
    actor.start();
    const run: Run = { uuid, uuidBytes: uuidFromString(uuid), actor, queued, console: new ConsoleBuffer() };
    this.watchRun(run);
    this.runs.set(uuid, run);
    return run;
  }

  /** Called before the connections are closed: runs then lost are requeued as stopped by the server. */
  beginStop(): void {
    if (this.phase() === 'serving') this.lifecycle.send({ type: 'STOP', at: this.now() });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.beginStop();
    this.stopped = true;
    if (this.tickTimer) this.clock.clearTimeout(this.tickTimer);
    for (const run of this.runs.values()) if (run.timer) this.clock.clearTimeout(run.timer);
    await Promise.allSettled([...this.pendingWrites]);
    for (const run of this.runs.values()) run.actor.stop();
    for (const w of this.workers.values()) w.stop();
    this.lifecycle.send({ type: 'STOPPED', at: this.now() });
  }

  // ---- client commands ----

  async scheduleJob(req: ScheduleRequest): Promise<void> {
    const job = req.job;
    const problem = jobNameProblem(job.name);
    if (problem) throw new CommandError('ERR_BAD_JOB_NAME', problem);
    const platform = jobPlatform(job);
    if (platform !== undefined && this.dropped.has(platform)) {
      throw new CommandError('ERR_PLATFORM_DROPPED', "platform dropped; can't schedule jobs");
    }
    if (this.schedule.has(job.name)) throw new CommandError('ERR_JOB_EXISTS', 'job name already used');
    const now = this.now();
    validateTrigger(req.trigger, now);
    const timeoutSeconds = req.timeoutSeconds ?? this.defaultTimeoutSeconds;
    if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new CommandError('ERR_BAD_TIMEOUT', 'timeout must be a positive number of seconds');
    const entry = newScheduleEntry(job, req.trigger, firstRun(req.trigger, now).next, now, {
      timeoutSeconds,
      ...(req.catchUp ? { catchUp: req.catchUp } : {}),
      ...(req.paused !== undefined ? { paused: req.paused } : {}),
      ...(req.origin ? { origin: req.origin } : {}),
    });
    if (entry.next === null && req.trigger.type === 'cron') {
      throw new CommandError('ERR_CRON_NEVER', `cron expression '${req.trigger.expr}' never fires`);
    }
    const change: Change = { putSchedule: [entry], queue: [] };
    this.schedule.set(entry.name, entry);
    if (!entry.paused) this.due.set(entry.name, entry.next);
    const queueNow = req.queueNow ?? req.trigger.type === 'period';
    if (queueNow && !entry.paused) this.addToQueues(job, change);
    this.bus.emit('schedule:added', platform === undefined ? { name: job.name } : { name: job.name, platform });
    this.armTick();
    await this.commit(change);
  }

  async unschedule(name: string): Promise<void> {
    if (!this.schedule.has(name)) throw new CommandError('ERR_UNKNOWN_JOB', `unknown job ${name}`);
    const change: Change = { deleteSchedule: [name], queue: [] };
    this.schedule.delete(name);
    this.due.delete(name);
    for (const [platform, q] of this.queues) {
      if (q.remove(name)) change.queue!.push({ op: 'remove', platform, name });
    }
    for (const [key, uuid] of [...this.waitingRuns]) {
      const run = this.runs.get(uuid);
      if (run && run.queued.name === name) {
        this.waitingRuns.delete(key);
        this.finishUnscheduled(run, change);
      }
    }
    this.bus.emit('schedule:removed', { name });
    await this.commit(change);
  }

  async execute(name: string, platform?: string): Promise<void> {
    const entry = this.schedule.get(name);
    if (!entry) throw new CommandError('ERR_UNKNOWN_JOB', 'execute failed: job not found');
    const job = entry.job;
    const own = jobPlatform(job);
    const change: Change = { queue: [] };
    const target = own ?? platform;
    if (own !== undefined && platform !== undefined && own !== platform) {
      throw new CommandError('ERR_WRONG_PLATFORM', `execute failed: job is for a different platform: ${own}`);
    }
    if (target === undefined) {
      for (const p of this.queues.keys()) this.queueFront(p, job, change);
    } else {
      if (!this.queues.has(target)) throw new CommandError('ERR_UNKNOWN_PLATFORM', 'execute failed: no such platform');
      this.queueFront(target, job, change);
    }
    await this.commit(change);
  }

  async reschedule(name: string, next: Date, period?: Period): Promise<void> {
    const entry = this.schedule.get(name);
    if (!entry) throw new CommandError('ERR_UNKNOWN_JOB', `couldn't find job ${name}`);
    const updated: ScheduleEntry = {
      ...entry,
      trigger: period ? { type: 'period', period } : entry.trigger,
      next: next.getTime(),
    };
    const change: Change = { putSchedule: [updated], queue: [] };
    this.schedule.set(name, updated);
    if (!updated.paused) this.due.set(name, updated.next);
    // As the original: a rescheduled job is queued at once as well.
    this.addToQueues(updated.job, change);
    this.armTick();
    await this.commit(change);
  }

  async dropPlatform(platform: string): Promise<void> {
    if (!this.queues.has(platform)) throw new CommandError('ERR_UNKNOWN_PLATFORM', `unknown platform ${platform}`);
    const change: Change = { deleteQueue: [platform], putDropped: [platform], deleteSchedule: [] };
    this.queues.delete(platform);
    this.dropped.add(platform);
    for (const [name, e] of this.schedule) {
      if (jobPlatform(e.job) === platform) {
        this.schedule.delete(name);
        this.due.delete(name);
        change.deleteSchedule!.push(name);
      }
    }
    await this.commit(change);
  }

  async undropPlatform(platform: string): Promise<void> {
    if (!this.dropped.has(platform)) throw new CommandError('ERR_UNKNOWN_PLATFORM', `unknown platform ${platform}`);
    this.dropped.delete(platform);
    const change: Change = { deleteDropped: [platform], queue: [] };
    this.dispatch(platform, change);
    await this.commit(change);
  }

  /** Stops (pauses) or starts a job: a stopped job stays scheduled but is never queued by time. */
  async setPaused(name: string, paused: boolean): Promise<void> {
    const entry = this.schedule.get(name);
    if (!entry) throw new CommandError('ERR_UNKNOWN_JOB', `unknown job ${name}`);
    if (entry.paused === paused) return;
    const now = this.now();
    const updated: ScheduleEntry = { ...entry, paused, next: paused ? entry.next : firstRun(entry.trigger, now).next };
    const change: Change = { putSchedule: [updated] };
    this.schedule.set(name, updated);
    this.due.set(name, paused ? null : updated.next);
    // Stopping ends the runs by time; a run already queued (or running) still happens, as a started
    // jobd job whose command is running finishes.
    this.armTick();
    await this.commit(change);
  }

  info(): Info {
    const schedule = [...this.schedule.values()]
      .sort((a, b) => (a.next ?? Infinity) - (b.next ?? Infinity))
      .map((e) => ({
        next: e.next === null ? NEVER_DATE : new Date(e.next),
        period: e.trigger.type === 'period' ? e.trigger.period : ('never' as Period),
        job: e.job,
      }));
    const queues = [...this.queues].map(([platform, q]) => ({ platform, jobs: q.jobs() }));
    const running = [...this.runs.values()]
      .filter((r) => r.job && ['assigned', 'running', 'uploading'].includes(this.stateOf(r)))
      .map((r) => ({ started: new Date(r.actor.getSnapshot().context.assignedAt!), uuid: r.uuidBytes, job: r.job! }));
    return { schedule, queues, running, droppedPlatforms: [...this.dropped].sort() };
  }

  /** Everything our own client shows: triggers, timeouts, run states, workers. */
  infoExtended(): InfoExtended {
    const now = this.now();
    return {
      now,
      schedule: [...this.schedule.values()]
        .sort((a, b) => (a.next ?? Infinity) - (b.next ?? Infinity))
        .map((e) => ({
          name: e.name,
          type: e.job.type,
          platform: jobPlatform(e.job) ?? null,
          trigger: e.trigger,
          next: e.next,
          timeoutSeconds: e.timeoutSeconds,
          catchUp: e.catchUp,
          paused: e.paused,
          pendingRuns: e.pendingRuns,
          lastRun: this.opts.persistence.history(e.name, 1)[0] ?? null,
        })),
      queues: [...this.queues].map(([platform, q]) => ({ platform, jobs: q.names_() })),
      runs: [...this.runs.values()].map((r) => {
        const c = r.actor.getSnapshot().context;
        return {
          uuid: r.uuid,
          name: c.jobName,
          platform: c.platform,
          state: this.stateOf(r),
          workerId: c.workerId ?? null,
          assignedAt: c.assignedAt ?? null,
          deadline: c.deadline ?? null,
          attempts: c.attempts,
          consoleLines: r.console.held().length,
        };
      }),
      workers: [...this.workers.values()].map((w) => {
        const s = w.getSnapshot();
        return { id: s.context.id, remote: s.context.remote, state: String(s.value), platform: s.context.platform ?? null, uuid: s.context.uuid ?? null, connectedAt: s.context.connectedAt };
      }),
      dropped: [...this.dropped].sort(),
    };
  }

  history(name: string, limit?: number): HistoryEntry[] {
    return this.opts.persistence.history(name, limit);
  }

  historyEntry(uuid: string): HistoryEntry | undefined {
    return this.opts.persistence.historyByUuid(uuid);
  }

  /** Runs not finished yet (waiting again, assigned, running, uploading). */
  activeRuns(): { uuid: string; state: string; context: JobRunContext; console: ConsoleBuffer }[] {
    return [...this.runs.values()].map((r) => ({ uuid: r.uuid, state: this.stateOf(r), context: r.actor.getSnapshot().context, console: r.console }));
  }

  // ---- observe ----

  /**
   * Sends the console of a run to the observer: the backlog, every new line and the result line.
   * A finished run is replayed from its result file. Throws 'uuid not found' for an unknown uuid.
   */
  async observe(uuid: string, observer: ConsoleObserver): Promise<() => void> {
    const run = this.runs.get(uuid);
    if (run) return run.console.subscribe(observer);
    const h = this.opts.persistence.historyByUuid(uuid);
    if (h?.resultPath) {
      const exec = decodeExec(new Uint8Array(await readFile(h.resultPath)));
      const buf = new ConsoleBuffer();
      for (let i = exec.console.length - 1; i >= 0; i--) buf.append({ deltaNs: exec.console[i]!.delta, line: exec.console[i]!.line });
      buf.end(BigInt(Math.max(0, exec.finished.getTime() - exec.started.getTime())) * 1_000_000n, resultText(exec.result));
      return buf.subscribe(observer);
    }
    throw new CommandError('ERR_UUID_NOT_FOUND', 'uuid not found');
  }

  /** The newest run of a job (running first), for observe-latest. */
  latestRun(opts: { job?: string; platform?: string }): string | undefined {
    let best: { uuid: string; at: number } | undefined;
    for (const r of this.runs.values()) {
      const c = r.actor.getSnapshot().context;
      if (opts.job && c.jobName !== opts.job) continue;
      if (opts.platform && c.platform !== opts.platform) continue;
      if (c.assignedAt === undefined) continue;
      if (!best || c.assignedAt > best.at) best = { uuid: r.uuid, at: c.assignedAt };
    }
    if (best) return best.uuid;
    if (opts.job) {
      const h = this.opts.persistence.history(opts.job, 50).find((e) => !opts.platform || e.platform === opts.platform);
      return h?.uuid;
    }
    return undefined;
  }

  // ---- workers ----

  workerConnected(worker: WorkerHandle): void {
    const actor = createActor(workerConnectionMachine, {
      input: { id: worker.id, remote: worker.remote, connectedAt: this.now() },
      inspect: this.opts.inspect,
    });
    actor.subscribe((s) => {
      this.bus.emit('actor:transition', { kind: 'worker', id: worker.id, state: String(s.value), at: this.now() });
      if (s.status === 'done') {
        this.workers.delete(worker.id);
        this.persistLater({ deleteActor: [{ kind: 'worker', id: worker.id }] });
      } else {
        this.persistLater({ putActor: [{ kind: 'worker', id: worker.id, snapshot: actor.getPersistedSnapshot() }] });
      }
    });
    this.workers.set(worker.id, actor);
    actor.start();
    actor.send({ type: 'HELLO', at: this.now() });
  }

  /** Resolves with a job for the platform, now or when one is queued. */
  requestJob(worker: WorkerHandle, platform: string): Promise<Assignment> {
    this.workers.get(worker.id)?.send({ type: 'REQUEST', platform, at: this.now() });
    this.bus.emit('worker:waiting', { workerId: worker.id, platform });
    return new Promise<Assignment>((resolve) => {
      const list = this.waiters.get(platform) ?? [];
      list.push({ worker, platform, resolve });
      this.waiters.set(platform, list);
      const change: Change = { queue: [] };
      this.dispatch(platform, change);
      if (!isEmpty(change)) this.persistLater(change);
    });
  }

  /** Called once the JobSchedule reached the worker's socket. */
  started(uuid: string): void {
    const run = this.runs.get(uuid);
    if (!run || this.stateOf(run) !== 'assigned') return;
    run.actor.send({ type: 'START', at: this.now() });
    this.persistLater({ putActor: [{ kind: 'job', id: uuid, snapshot: run.actor.getPersistedSnapshot() }] });
    this.bus.emit('job:started', { uuid, name: run.queued.name });
  }

  output(uuid: string, line: Uint8Array): void {
    const run = this.runs.get(uuid);
    if (!run) return;
    const s = this.stateOf(run);
    if (s !== 'running' && s !== 'assigned') return;
    const c = run.actor.getSnapshot().context;
    const deltaNs = BigInt(Math.max(0, Math.round((this.now() - (c.assignedAt ?? this.now())) * 1e6)));
    run.console.append({ deltaNs, line });
    this.bus.emit('job:output', { uuid, line, deltaNs });
  }

  /** The worker's JobFinished: the result is written durably before the run is done. */
  async finished(uuid: string, result: Result, files: File[]): Promise<void> {
    const run = this.runs.get(uuid);
    if (!run || !['assigned', 'running'].includes(this.stateOf(run))) {
      this.bus.log('warn', 'job finished for a uuid that is not running', { uuid });
      return;
    }
    const refused = files.map((f) => ({ f, why: artifactPathProblem(f.path) })).find((x) => x.why);
    if (refused) {
      result = { type: 'msg', message: `artifact path refused (${refused.why}): ${JSON.stringify(refused.f.path)}` };
      files = [];
    }
    await this.complete(run, result, files, 'FINISH');
  }

  /** The worker's connection ended: a run not finished goes back to its queue. */
  workerGone(worker: WorkerHandle, reason: string): void {
    const actor = this.workers.get(worker.id);
    actor?.send({ type: 'CLOSE', at: this.now(), reason });
    for (const [platform, list] of this.waiters) {
      const rest = list.filter((w) => w.worker.id !== worker.id);
      if (rest.length === 0) this.waiters.delete(platform);
      else this.waiters.set(platform, rest);
    }
    for (const run of this.runs.values()) {
      if (run.worker?.id !== worker.id) continue;
      const s = this.stateOf(run);
      if (s === 'assigned' || s === 'running') this.requeue(run, this.phase() === 'stopping' ? 'server stopped' : `worker lost: ${reason}`);
    }
    this.bus.emit('worker:closed', { workerId: worker.id, reason });
  }

  workerFinished(worker: WorkerHandle): void {
    this.workers.get(worker.id)?.send({ type: 'FINISHED', at: this.now() });
  }

  // ---- time ----

  /** Queues every entry that fell due (catch-up policies apply), then re-arms the timer. */
  async tick(): Promise<void> {
    if (this.stopped) return;
    const now = this.now();
    const change: Change = { putSchedule: [], queue: [] };
    for (const name of this.due.popDue(now)) {
      const entry = this.schedule.get(name);
      if (!entry || entry.paused || entry.next === null) continue;
      const fired = catchUp(entry.trigger, entry.next, entry.catchUp, now);
      const updated: ScheduleEntry = { ...entry, next: fired.next, pendingRuns: entry.pendingRuns + Math.max(0, fired.runs - 1) };
      this.schedule.set(name, updated);
      this.due.set(name, updated.next);
      change.putSchedule!.push(updated);
      if (fired.runs > 0) {
        this.addToQueues(updated.job, change);
        this.bus.emit('schedule:fired', { name, runs: fired.runs });
      }
    }
    change.meta = { lastTick: now };
    this.armTick();
    await this.commit(change);
  }

  private armTick(): void {
    if (this.stopped) return;
    const at = this.due.peek();
    if (at === undefined) return;
    if (this.tickTimer && this.tickAt !== undefined && this.tickAt <= at) return;
    if (this.tickTimer) this.clock.clearTimeout(this.tickTimer);
    this.tickAt = at;
    this.tickTimer = this.clock.setTimeout(() => {
      this.tickTimer = undefined;
      this.tickAt = undefined;
      this.tick().catch((e) => this.bus.log('error', 'schedule tick failed', { error: String(e) }));
    }, Math.max(0, at - this.now()));
  }

  // ---- queues ----

  private addToQueues(job: Job, change: Change): void {
    if (job.type === 'orb-build') {
      for (const platform of this.queues.keys()) {
        if (this.queueBack(platform, job, change)) this.dispatch(platform, change);
      }
      // Workers waiting on a platform without a queue yet: it is made from the schedule now.
      for (const platform of [...this.waiters.keys()]) if (!this.queues.has(platform)) this.dispatch(platform, change);
      return;
    }
    const platform = jobPlatform(job)!;
    if (!this.findQueue(platform, change)) return;
    this.queueBack(platform, job, change);
    this.dispatch(platform, change);
  }

  /** The platform's queue, created from the schedule on first use, as the original does. */
  private findQueue(platform: string, change: Change): JobQueue | undefined {
    const existing = this.queues.get(platform);
    if (existing) return existing;
    if (this.dropped.has(platform)) return undefined;
    const hasTemplate = this.templateExists(platform);
    const jobs: Job[] = [];
    for (const e of this.schedule.values()) {
      if (e.paused) continue;
      const p = jobPlatform(e.job);
      if (p === platform || (p === undefined && hasTemplate)) jobs.push(e.job);
    }
    if (jobs.length === 0) return undefined;
    const q = new JobQueue(jobs);
    this.queues.set(platform, q);
    (change.createQueue ??= []).push(platform);
    for (const job of jobs) change.queue!.push({ op: 'push-back', platform, job });
    return q;
  }

  private queueBack(platform: string, job: Job, change: Change): boolean {
    const q = this.queues.get(platform);
    if (!q || !q.pushBack(job)) return false;
    change.queue!.push({ op: 'push-back', platform, job });
    this.bus.emit('queue:added', { platform, name: job.name, front: false });
    return true;
  }

  private queueFront(platform: string, job: Job, change: Change): void {
    let q = this.queues.get(platform);
    if (!q) {
      q = new JobQueue();
      this.queues.set(platform, q);
      (change.createQueue ??= []).push(platform);
    }
    q.pushFront(job);
    change.queue!.push({ op: 'push-front', platform, job });
    this.bus.emit('queue:added', { platform, name: job.name, front: true });
    this.dispatch(platform, change);
  }

  /** Hands queued jobs to waiting workers of the platform. */
  private dispatch(platform: string, change: Change): void {
    const waiting = this.waiters.get(platform);
    if (!waiting || waiting.length === 0) return;
    const q = this.findQueue(platform, change);
    while (q && q.length > 0 && waiting.length > 0) {
      // A job still running on this platform waits in the queue until that run ends.
      const job = q.take((j) => !this.active.has(qkey(platform, j.name)));
      if (!job) break;
      change.queue!.push({ op: 'remove', platform, name: job.name });
      let script: ScriptJob;
      try {
        script = this.toScriptJob(job, platform);
      } catch (e) {
        this.bus.emit('job:failed', { uuid: '', name: job.name, reason: (e as Error).message });
        continue;
      }
      const waiter = waiting.shift()!;
      const assignment = this.assign(waiter.worker, platform, job, script, change);
      (change.after ??= []).push(() => waiter.resolve(assignment));
    }
    if (waiting.length === 0) this.waiters.delete(platform);
  }

  private assign(worker: WorkerHandle, platform: string, queued: Job, job: ScriptJob, change: Change): Assignment {
    const now = this.now();
    const key = qkey(platform, queued.name);
    let run = this.runs.get(this.waitingRuns.get(key) ?? '');
    this.waitingRuns.delete(key);
    if (run) {
      run.console.reset();
      run.queued = queued;
    } else {
      const bytes = randomUuid();
      const uuid = uuidToString(bytes);
      const actor = createActor(jobRunMachine, {
        input: { uuid, jobName: queued.name, platform, queuedAt: now, timeoutMs: this.timeoutMs(queued.name) },
        inspect: this.opts.inspect,
      });
      run = { uuid, uuidBytes: bytes, actor, queued, console: new ConsoleBuffer() };
      this.watchRun(run);
      this.runs.set(uuid, run);
      actor.start();
    }
    run.job = job;
    run.worker = worker;
    this.active.add(key);
    run.actor.send({ type: 'ASSIGN', workerId: worker.id, at: now });
    const ctx = run.actor.getSnapshot().context;
    const record: RunningRecord = {
      uuid: run.uuid,
      jobName: queued.name,
      platform,
      job,
      queued,
      startedAt: now,
      deadline: ctx.deadline!,
      workerId: worker.id,
    };
    (change.putRunning ??= []).push(record);
    (change.putActor ??= []).push({ kind: 'job', id: run.uuid, snapshot: run.actor.getPersistedSnapshot() });
    this.armDeadline(run);
    this.workers.get(worker.id)?.send({ type: 'ASSIGN', uuid: run.uuid, at: now });
    this.bus.emit('job:assigned', { uuid: run.uuid, name: queued.name, platform, workerId: worker.id });
    return { uuid: run.uuidBytes, job };
  }

  private armDeadline(run: Run): void {
    const deadline = run.actor.getSnapshot().context.deadline;
    if (deadline === undefined) return;
    if (run.timer) this.clock.clearTimeout(run.timer);
    run.timer = this.clock.setTimeout(() => {
      run.timer = undefined;
      this.timedOut(run).catch((e) => this.bus.log('error', 'timeout handling failed', { uuid: run.uuid, error: String(e) }));
    }, Math.max(0, deadline - this.now()));
  }

  private async timedOut(run: Run): Promise<void> {
    const s = this.stateOf(run);
    if (s !== 'assigned' && s !== 'running') return;
    this.bus.emit('job:timeout', { uuid: run.uuid, name: run.queued.name });
    run.worker?.close('job timed out');
    await this.complete(run, { type: 'msg', message: 'timeout' }, [], 'TIMEOUT');
  }

  private requeue(run: Run, reason: string): void {
    const c = run.actor.getSnapshot().context;
    if (run.timer) this.clock.clearTimeout(run.timer);
    run.timer = undefined;
    run.worker = undefined;
    run.actor.send({ type: 'REQUEUE', at: this.now(), reason });
    this.active.delete(qkey(c.platform, c.jobName));
    const change: Change = { deleteRunning: [run.uuid], queue: [] };
    if (this.schedule.has(c.jobName) && !this.dropped.has(c.platform)) {
      run.console.append({ deltaNs: 0n, line: new TextEncoder().encode(`builder: ${reason}; the job is queued again`) });
      this.waitingRuns.set(qkey(c.platform, c.jobName), run.uuid);
      change.putActor = [{ kind: 'job', id: run.uuid, snapshot: run.actor.getPersistedSnapshot() }];
      this.queueFront(c.platform, run.queued, change);
      this.bus.emit('job:requeued', { uuid: run.uuid, name: c.jobName, platform: c.platform, reason });
    } else {
      this.finishUnscheduled(run, change);
    }
    this.persistLater(change);
  }

  private finishUnscheduled(run: Run, change: Change): void {
    run.actor.send({ type: 'FAIL', at: this.now(), reason: 'job unscheduled before it could run again' });
    run.console.end(0n, 'execution aborted: job unscheduled');
    (change.deleteActor ??= []).push({ kind: 'job', id: run.uuid });
    this.runs.delete(run.uuid);
    run.actor.stop();
  }

  /** Writes the result file and the history entry, then the run is done (or timed out). */
  private async complete(run: Run, result: Result, files: File[], how: 'FINISH' | 'TIMEOUT'): Promise<void> {
    const now = this.now();
    if (run.timer) this.clock.clearTimeout(run.timer);
    run.timer = undefined;
    const text = resultText(result);
    if (how === 'FINISH') run.actor.send({ type: 'FINISH', at: now, result: text });
    else run.actor.send({ type: 'TIMEOUT', at: now });
    const c = run.actor.getSnapshot().context;
    const held = run.console.held();
    const exec: Exec = {
      job: run.job!,
      uuid: run.uuidBytes,
      console: held.map((l) => ({ delta: l.deltaNs, line: l.line })).reverse(),
      started: new Date(c.assignedAt ?? now),
      finished: new Date(now),
      result,
      files,
    };
    const bytes = encodeExec(exec);
    const file = resultPath(this.opts.dir, c.jobName, run.uuid);
    const change: Change = { deleteRunning: [run.uuid], queue: [] };
    let stored = true;
    try {
      await writeDurably(file, bytes);
    } catch (e) {
      stored = false;
      this.bus.log('error', 'could not write the result file', { uuid: run.uuid, file, error: String(e) });
    }
    if (how === 'FINISH') {
      if (stored) run.actor.send({ type: 'STORED', at: this.now() });
      else run.actor.send({ type: 'FAIL', at: this.now(), reason: 'result could not be written' });
    }
    const done = run.actor.getSnapshot().context;
    (change.addHistory ??= []).push({
      uuid: run.uuid,
      jobName: c.jobName,
      platform: c.platform,
      startedAt: c.assignedAt ?? now,
      finishedAt: now,
      result,
      resultText: text,
      ...(stored ? { resultPath: file } : {}),
      transitions: done.transitions,
    });
    (change.deleteActor ??= []).push({ kind: 'job', id: run.uuid });
    let outbox: OutboxEntry | undefined;
    if (stored && this.opts.upload) {
      outbox = { id: run.uuid, uuid: run.uuid, jobName: c.jobName, path: file, url: this.opts.upload, attempts: 0, nextAttemptAt: now };
      (change.putOutbox ??= []).push(outbox);
    }
    const entry = this.schedule.get(c.jobName);
    if (how === 'TIMEOUT') {
      // As the original: a timed-out job goes to the back of its queue again.
      if (entry) this.queueBackAndDispatch(c.platform, run.queued, change);
    } else if (entry && entry.pendingRuns > 0) {
      const updated = { ...entry, pendingRuns: entry.pendingRuns - 1 };
      this.schedule.set(entry.name, updated);
      (change.putSchedule ??= []).push(updated);
      this.queueBackAndDispatch(c.platform, run.queued, change);
    }
    this.active.delete(qkey(c.platform, c.jobName));
    this.dispatch(c.platform, change);
    const endDelta = BigInt(Math.max(0, Math.round((now - (c.assignedAt ?? now)) * 1e6)));
    run.console.end(endDelta, text);
    if (run.worker) this.workerFinished(run.worker);
    await this.commit(change);
    // Only now, with the history entry durable, does the run leave the active ones: it is never missing from both.
    this.runs.delete(run.uuid);
    run.actor.stop();
    this.bus.emit('job:finished', { uuid: run.uuid, name: c.jobName, platform: c.platform, result: text, ...(stored ? { path: file } : {}) });
    if (stored) {
      for (const listener of this.resultListeners) {
        try {
          await listener(exec, bytes, file);
        } catch (e) {
          this.bus.log('error', 'a result listener failed', { uuid: run.uuid, error: String(e) });
        }
      }
    }
    if (outbox) this.opts.onOutbox?.(outbox);
  }

  private queueBackAndDispatch(platform: string, job: Job, change: Change): void {
    if (job.type === 'orb-build' || this.findQueue(platform, change)) {
      this.queueBack(platform, job, change);
      this.dispatch(platform, change);
    }
  }

  // ---- helpers ----

  private watchRun(run: Run): void {
    run.actor.subscribe((s) => {
      this.bus.emit('actor:transition', { kind: 'job', id: run.uuid, state: String(s.value), at: this.now() });
    });
  }

  private stateOf(run: Run): string {
    return String(run.actor.getSnapshot().value);
  }

  /** The run of a uuid, for the web's lifecycle view and `builder inspect`. */
  runContext(uuid: string): { state: string; context: JobRunContext } | undefined {
    const run = this.runs.get(uuid);
    if (!run) return undefined;
    return { state: this.stateOf(run), context: run.actor.getSnapshot().context };
  }

  consoleOf(uuid: string): ConsoleBuffer | undefined {
    return this.runs.get(uuid)?.console;
  }

  private timeoutMs(name: string): number {
    return (this.schedule.get(name)?.timeoutSeconds ?? this.defaultTimeoutSeconds) * 1000;
  }

  private templateFile(platform: string): string {
    return path.join(this.opts.configDir, `orb-build.template.${platform}`);
  }

  private templateCache = new Map<string, string | null>();

  private templateExists(platform: string): boolean {
    return this.readTemplate(platform) !== null;
  }

  private readTemplate(platform: string): string | null {
    if (!this.templateCache.has(platform)) {
      let text: string | null = null;
      try {
        text = readFileSync(this.templateFile(platform), 'utf8');
      } catch {
        text = null;
      }
      this.templateCache.set(platform, text);
    }
    return this.templateCache.get(platform)!;
  }

  private toScriptJob(job: Job, platform: string): ScriptJob {
    if (job.type === 'script') {
      if ((job.platform ?? NO_PLATFORM) !== platform) {
        throw new CommandError('ERR_WRONG_PLATFORM', `script platform "${job.platform}" does not match worker platform "${platform}"`);
      }
      return job;
    }
    this.templateCache.delete(platform);
    const template = this.readTemplate(platform);
    if (template === null) throw new CommandError('ERR_NO_TEMPLATE', `no template ${this.templateFile(platform)} for orb-build job ${job.name}`);
    const script = template.split('%%OPAM_PACKAGE%%').join(job.opamPackage).split('%%PLATFORM%%').join(platform);
    return { type: 'script', name: job.name, script, platform };
  }

  private now(): number {
    return this.opts.clock.now();
  }

  private commit(change: Change): Promise<void> {
    const after = change.after;
    delete change.after;
    const p = this.opts.persistence.commit(change);
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

  private persistLater(change: Change): void {
    this.commit(change).catch((e) => this.bus.log('error', 'persisting a change failed', { error: String(e) }));
  }
}

function isEmpty(change: Change): boolean {
  return Object.values(change).every((v) => v === undefined || (Array.isArray(v) && v.length === 0));
}


export interface InfoExtended {
  now: number;
  schedule: {
    name: string;
    type: Job['type'];
    platform: string | null;
    trigger: Trigger;
    next: number | null;
    timeoutSeconds: number;
    catchUp: CatchUp;
    paused: boolean;
    pendingRuns: number;
    lastRun: HistoryEntry | null;
  }[];
  queues: { platform: string; jobs: string[] }[];
  runs: {
    uuid: string;
    name: string;
    platform: string;
    state: string;
    workerId: string | null;
    assignedAt: number | null;
    deadline: number | null;
    attempts: number;
    consoleLines: number;
  }[];
  workers: { id: string; remote: string; state: string; platform: string | null; uuid: string | null; connectedAt: number }[];
  dropped: string[];
}
