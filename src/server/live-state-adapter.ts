// The web frontend's view of the running scheduler (src/web/live-state.ts), over the supervisor.
import type { LiveSnapshot, LiveState, LifecycleStep } from '../web/live-state.ts';
import type { Supervisor } from './supervisor.ts';
import { triggerText } from './trigger-text.ts';

export function liveStateOf(sup: Supervisor): LiveState {
  return {
    snapshot(): LiveSnapshot {
      const info = sup.infoExtended();
      return {
        schedule: info.schedule.map((e) => ({
          job: e.name,
          ...(e.platform ? { platform: e.platform } : {}),
          trigger: triggerText(e.trigger) + (e.paused ? ' (stopped)' : ''),
          next: e.next ?? Number.NaN,
        })),
        queues: info.queues,
        running: info.runs
          .filter((r) => r.assignedAt !== null)
          .map((r) => ({ uuid: r.uuid, job: r.name, platform: r.platform, startedAt: r.assignedAt!, state: r.state })),
        workers: info.workers.map((w) => ({
          id: w.id,
          platform: w.platform ?? '',
          address: w.remote,
          connectedAt: w.connectedAt,
          ...(w.uuid && w.state === 'busy' ? { running: w.uuid } : {}),
        })),
        dropped: info.dropped,
      };
    },
    subscribeConsole(uuid, onLine, onEnd) {
      let unsubscribe: (() => void) | undefined;
      let cancelled = false;
      sup
        .observe(uuid, { line: (e) => onLine(e.deltaNs, e.line), end: (_d, result) => onEnd(result) })
        .then(
          (off) => {
            if (cancelled) off();
            else unsubscribe = off;
          },
          (e) => onEnd((e as Error).message),
        );
      return () => {
        cancelled = true;
        unsubscribe?.();
      };
    },
    lifecycle(uuid): LifecycleStep[] | undefined {
      const live = sup.runContext(uuid);
      const steps = live?.context.transitions ?? sup.historyEntry(uuid)?.transitions;
      return steps?.map((t) => ({ state: t.state, at: t.at }));
    },
  };
}
