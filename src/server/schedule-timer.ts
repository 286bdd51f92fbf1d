// Time: every entry that fell due is queued (catch-up policies apply), then the timer is re-armed
// for the next due entry.
import { catchUp } from '../scheduler/catch-up.ts';
import type { Change, ScheduleEntry } from './persistence.ts';
import { addToQueues } from './platform-queues.ts';
import type { SupervisorCore } from './supervisor-core.ts';

export async function tick(core: SupervisorCore): Promise<void> {
  if (core.stopped) return;
  const now = core.now();
  const change: Change = { putSchedule: [], queue: [] };
  for (const name of core.due.popDue(now)) {
    const entry = core.schedule.get(name);
    if (!entry || entry.paused || entry.next === null) continue;
    const fired = catchUp(entry.trigger, entry.next, entry.catchUp, now);
    const updated: ScheduleEntry = { ...entry, next: fired.next, pendingRuns: entry.pendingRuns + Math.max(0, fired.runs - 1) };
    core.schedule.set(name, updated);
    core.due.set(name, updated.next);
    change.putSchedule!.push(updated);
    if (fired.runs > 0) {
      addToQueues(core, updated.job, change);
      core.bus.emit('schedule:fired', { name, runs: fired.runs });
    }
  }
  change.meta = { lastTick: now };
  armTick(core);
  await core.commit(change);
}

export function armTick(core: SupervisorCore): void {
  if (core.stopped) return;
  const at = core.due.peek();
  if (at === undefined) return;
  if (core.tickTimer && core.tickAt !== undefined && core.tickAt <= at) return;
  if (core.tickTimer) core.clock.clearTimeout(core.tickTimer);
  core.tickAt = at;
  core.tickTimer = core.clock.setTimeout(() => {
    core.tickTimer = undefined;
    core.tickAt = undefined;
    tick(core).catch((e) => core.bus.log('error', 'schedule tick failed', { error: String(e) }));
  }, Math.max(0, at - core.now()));
}
