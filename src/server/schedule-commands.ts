// The client commands that change the schedule: schedule, unschedule, execute, reschedule, drop and
// undrop a platform, stop and start a job. Each changes memory synchronously, then commits one change.
import { CommandError } from '../errors/command-error.ts';
import type { Job, Period } from '../protocol/types.ts';
import { firstRun, validateTrigger } from '../scheduler/trigger.ts';
import { jobNameProblem } from './artifact-path.ts';
import { newScheduleEntry, type Change, type ScheduleEntry } from './persistence.ts';
import { addToQueues, dispatch, queueFront } from './platform-queues.ts';
import { finishUnscheduled } from './run-completion.ts';
import { armTick } from './schedule-timer.ts';
import { isEmpty, jobPlatform, type ScheduleRequest, type SupervisorCore } from './supervisor-core.ts';

/** Undoes the queue additions of `change` for job `name` and the queues it created. */
function undoQueued(core: SupervisorCore, change: Change, name: string): void {
  for (const p of change.createQueue ?? []) core.queues.delete(p);
  for (const op of change.queue ?? []) if (op.op === 'push-back' && op.job.name === name) core.queues.get(op.platform)?.remove(name);
}

/** Puts a schedule entry back as it was before a change that could not be saved. */
function restoreEntry(core: SupervisorCore, entry: ScheduleEntry): void {
  core.schedule.set(entry.name, entry);
  core.due.set(entry.name, entry.paused ? null : entry.next);
}

/** Hands queued jobs to waiting workers, once the change that queued them is durable. */
function handOutQueued(core: SupervisorCore): void {
  const handOut: Change = { queue: [] };
  for (const p of [...core.waiters.keys()]) dispatch(core, p, handOut);
  if (!isEmpty(handOut)) core.persistLater(handOut);
}

export async function scheduleJob(core: SupervisorCore, req: ScheduleRequest): Promise<void> {
  const job = req.job;
  const problem = jobNameProblem(job.name);
  if (problem) throw new CommandError('ERR_BAD_JOB_NAME', problem);
  const platform = jobPlatform(job);
  if (platform !== undefined && core.dropped.has(platform)) {
    throw new CommandError('ERR_PLATFORM_DROPPED', "platform dropped; can't schedule jobs");
  }
  if (core.schedule.has(job.name)) throw new CommandError('ERR_JOB_EXISTS', 'job name already used');
  const now = core.now();
  validateTrigger(req.trigger, now);
  const timeoutSeconds = req.timeoutSeconds ?? core.defaultTimeoutSeconds;
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
  core.schedule.set(entry.name, entry);
  if (!entry.paused) core.due.set(entry.name, entry.next);
  const queueNow = req.queueNow ?? req.trigger.type === 'period';
  // Queued now, handed to a worker only once durable: a schedule that fails to commit leaves no trace.
  if (queueNow && !entry.paused) addToQueues(core, job, change, false);
  change.undo = [
    () => {
      if (core.schedule.get(entry.name) !== entry) return;
      core.schedule.delete(entry.name);
      core.due.delete(entry.name);
      undoQueued(core, change, entry.name);
    },
  ];
  armTick(core);
  await core.commit(change);
  core.bus.emit('schedule:added', platform === undefined ? { name: job.name } : { name: job.name, platform });
  handOutQueued(core);
}

export async function unschedule(core: SupervisorCore, name: string): Promise<void> {
  if (!core.schedule.has(name)) throw new CommandError('ERR_UNKNOWN_JOB', `unknown job ${name}`);
  const change: Change = { deleteSchedule: [name], queue: [] };
  const entry = core.schedule.get(name)!;
  core.schedule.delete(name);
  core.due.delete(name);
  const removed: { platform: string; index: number; job: Job }[] = [];
  for (const [platform, q] of core.queues) {
    const index = q.indexOf(name);
    if (index >= 0 && q.remove(name)) {
      removed.push({ platform, index, job: entry.job });
      change.queue!.push({ op: 'remove', platform, name });
    }
  }
  change.undo = [
    () => {
      if (core.schedule.has(name)) return;
      restoreEntry(core, entry);
      for (const r of removed) core.queues.get(r.platform)?.insertAt(r.index, r.job);
    },
  ];
  for (const [key, uuid] of [...core.waitingRuns]) {
    const run = core.runs.get(uuid);
    if (run && run.queued.name === name) {
      core.waitingRuns.delete(key);
      finishUnscheduled(core, run, change);
    }
  }
  core.bus.emit('schedule:removed', { name });
  await core.commit(change);
}

export async function execute(core: SupervisorCore, name: string, platform?: string): Promise<void> {
  const entry = core.schedule.get(name);
  if (!entry) throw new CommandError('ERR_UNKNOWN_JOB', `unknown job ${name}`);
  const job = entry.job;
  const own = jobPlatform(job);
  const change: Change = { queue: [] };
  const target = own ?? platform;
  if (own !== undefined && platform !== undefined && own !== platform) {
    throw new CommandError('ERR_WRONG_PLATFORM', `execute failed: job is for a different platform: ${own}`);
  }
  if (target === undefined) {
    const platforms = [...core.queues.keys()].filter((p) => job.type !== 'orb-build' || core.templates.existsNow(p));
    if (job.type === 'orb-build' && platforms.length === 0 && core.queues.size > 0) {
      throw new CommandError('ERR_NO_TEMPLATE', `execute failed: no platform has an orb-build template (${core.templates.file('<platform>')})`);
    }
    for (const p of platforms) queueFront(core, p, job, change);
  } else {
    if (!core.queues.has(target)) throw new CommandError('ERR_UNKNOWN_PLATFORM', 'execute failed: no such platform');
    if (job.type === 'orb-build' && !core.templates.existsNow(target)) {
      throw new CommandError('ERR_NO_TEMPLATE', `execute failed: no orb-build template for platform ${target}: ${core.templates.file(target)}`);
    }
    queueFront(core, target, job, change);
  }
  await core.commit(change);
}

export async function reschedule(core: SupervisorCore, name: string, next: Date, period?: Period): Promise<void> {
  const entry = core.schedule.get(name);
  if (!entry) throw new CommandError('ERR_UNKNOWN_JOB', `unknown job ${name}`);
  const updated: ScheduleEntry = {
    ...entry,
    trigger: period ? { type: 'period', period } : entry.trigger,
    next: next.getTime(),
  };
  const change: Change = { putSchedule: [updated], queue: [] };
  core.schedule.set(name, updated);
  if (!updated.paused) core.due.set(name, updated.next);
  // As the original: a rescheduled job is queued at once as well (handed out once durable).
  addToQueues(core, updated.job, change, false);
  change.undo = [
    () => {
      if (core.schedule.get(name) !== updated) return;
      restoreEntry(core, entry);
      undoQueued(core, change, name);
    },
  ];
  armTick(core);
  await core.commit(change);
  handOutQueued(core);
}

export async function dropPlatform(core: SupervisorCore, platform: string): Promise<void> {
  if (!core.queues.has(platform)) throw new CommandError('ERR_UNKNOWN_PLATFORM', `unknown platform ${platform}`);
  const change: Change = { deleteQueue: [platform], putDropped: [platform], deleteSchedule: [] };
  const queue = core.queues.get(platform)!;
  const entries: ScheduleEntry[] = [];
  core.queues.delete(platform);
  core.dropped.add(platform);
  for (const [name, e] of core.schedule) {
    if (jobPlatform(e.job) === platform) {
      entries.push(e);
      core.schedule.delete(name);
      core.due.delete(name);
      change.deleteSchedule!.push(name);
    }
  }
  change.undo = [
    () => {
      core.dropped.delete(platform);
      if (!core.queues.has(platform)) core.queues.set(platform, queue);
      for (const e of entries) if (!core.schedule.has(e.name)) restoreEntry(core, e);
    },
  ];
  await core.commit(change);
}

export async function undropPlatform(core: SupervisorCore, platform: string): Promise<void> {
  if (!core.dropped.has(platform)) throw new CommandError('ERR_UNKNOWN_PLATFORM', `unknown platform ${platform}`);
  core.dropped.delete(platform);
  const change: Change = { deleteDropped: [platform], queue: [] };
  dispatch(core, platform, change);
  await core.commit(change);
}

/** Stops (pauses) or starts a job: a stopped job stays scheduled but is never queued by time. */
export async function setPaused(core: SupervisorCore, name: string, paused: boolean): Promise<void> {
  const entry = core.schedule.get(name);
  if (!entry) throw new CommandError('ERR_UNKNOWN_JOB', `unknown job ${name}`);
  if (entry.paused === paused) return;
  const now = core.now();
  const updated: ScheduleEntry = { ...entry, paused, next: paused ? entry.next : firstRun(entry.trigger, now).next };
  const change: Change = { putSchedule: [updated] };
  core.schedule.set(name, updated);
  core.due.set(name, paused ? null : updated.next);
  change.undo = [() => core.schedule.get(name) === updated && restoreEntry(core, entry)];
  // Stopping ends the runs by time; a run already queued (or running) still happens, as a started
  // jobd job whose command is running finishes.
  armTick(core);
  await core.commit(change);
}
