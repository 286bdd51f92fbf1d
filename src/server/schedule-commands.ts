// The client commands that change the schedule: schedule, unschedule, execute, reschedule, drop and
// undrop a platform, stop and start a job. Each changes memory synchronously, then commits one change.
import { CommandError } from '../errors/command-error.ts';
import type { Period } from '../protocol/types.ts';
import { firstRun, validateTrigger } from '../scheduler/trigger.ts';
import { jobNameProblem } from './artifact-path.ts';
import { newScheduleEntry, type Change, type ScheduleEntry } from './persistence.ts';
import { addToQueues, dispatch, queueFront } from './platform-queues.ts';
import { finishUnscheduled } from './run-completion.ts';
import { armTick } from './schedule-timer.ts';
import { isEmpty, jobPlatform, type ScheduleRequest, type SupervisorCore } from './supervisor-core.ts';

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
      for (const p of change.createQueue ?? []) core.queues.delete(p);
      for (const op of change.queue ?? []) if (op.op === 'push-back' && op.job.name === entry.name) core.queues.get(op.platform)?.remove(entry.name);
    },
  ];
  armTick(core);
  await core.commit(change);
  core.bus.emit('schedule:added', platform === undefined ? { name: job.name } : { name: job.name, platform });
  const handOut: Change = { queue: [] };
  for (const p of [...core.waiters.keys()]) dispatch(core, p, handOut);
  if (!isEmpty(handOut)) core.persistLater(handOut);
}

export async function unschedule(core: SupervisorCore, name: string): Promise<void> {
  if (!core.schedule.has(name)) throw new CommandError('ERR_UNKNOWN_JOB', `unknown job ${name}`);
  const change: Change = { deleteSchedule: [name], queue: [] };
  core.schedule.delete(name);
  core.due.delete(name);
  for (const [platform, q] of core.queues) {
    if (q.remove(name)) change.queue!.push({ op: 'remove', platform, name });
  }
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
    for (const p of core.queues.keys()) queueFront(core, p, job, change);
  } else {
    if (!core.queues.has(target)) throw new CommandError('ERR_UNKNOWN_PLATFORM', 'execute failed: no such platform');
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
  // As the original: a rescheduled job is queued at once as well.
  addToQueues(core, updated.job, change);
  armTick(core);
  await core.commit(change);
}

export async function dropPlatform(core: SupervisorCore, platform: string): Promise<void> {
  if (!core.queues.has(platform)) throw new CommandError('ERR_UNKNOWN_PLATFORM', `unknown platform ${platform}`);
  const change: Change = { deleteQueue: [platform], putDropped: [platform], deleteSchedule: [] };
  core.queues.delete(platform);
  core.dropped.add(platform);
  for (const [name, e] of core.schedule) {
    if (jobPlatform(e.job) === platform) {
      core.schedule.delete(name);
      core.due.delete(name);
      change.deleteSchedule!.push(name);
    }
  }
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
  // Stopping ends the runs by time; a run already queued (or running) still happens, as a started
  // jobd job whose command is running finishes.
  armTick(core);
  await core.commit(change);
}
