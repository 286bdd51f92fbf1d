// One typed event map for the whole daemon (as graphile-worker does): the logger, the inspector,
// the web's live view and the tests all listen to the same events. Each event is also published
// on node:diagnostics_channel as `builder:<name>` for external observers (as undici does).
import diagnostics from 'node:diagnostics_channel';

export interface BuilderEvents {
  'server:listening': { host: string; port: number };
  'server:recovered': { requeued: number; schedule: number; queued: number; ms: number };
  'connection:open': { id: string; remote: string };
  'connection:error': { id: string; remote: string; code: string; message: string };
  'connection:closed': { id: string; remote: string; reason: string };
  'schedule:added': { name: string; platform?: string };
  'schedule:removed': { name: string };
  'schedule:fired': { name: string; runs: number };
  'queue:added': { platform: string; name: string; front: boolean };
  'worker:waiting': { workerId: string; platform: string };
  'worker:closed': { workerId: string; reason: string };
  'job:assigned': { uuid: string; name: string; platform: string; workerId: string };
  'job:started': { uuid: string; name: string };
  'job:output': { uuid: string; line: Uint8Array; deltaNs: bigint };
  'job:finished': { uuid: string; name: string; platform: string; result: string; path?: string };
  'job:timeout': { uuid: string; name: string };
  'job:requeued': { uuid: string; name: string; platform: string; reason: string };
  'job:failed': { uuid: string; name: string; reason: string };
  'actor:transition': { kind: 'job' | 'worker' | 'supervisor'; id: string; state: string; at: number };
  'upload:done': { uuid: string; url: string; status: number };
  'upload:failed': { uuid: string; url: string; error: string; attempts: number; nextAttemptAt: number };
  log: { level: 'debug' | 'info' | 'warn' | 'error'; message: string; fields?: Record<string, unknown> };
}

export type EventName = keyof BuilderEvents;
type Listener<K extends EventName> = (payload: BuilderEvents[K]) => void;

export class EventBus {
  private readonly listeners = new Map<EventName, Set<Listener<any>>>();
  private readonly channels = new Map<EventName, diagnostics.Channel>();

  on<K extends EventName>(name: K, fn: Listener<K>): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(fn);
    return () => set!.delete(fn);
  }

  once<K extends EventName>(name: K, predicate: (p: BuilderEvents[K]) => boolean = () => true): Promise<BuilderEvents[K]> {
    return new Promise((resolve) => {
      const off = this.on(name, (p) => {
        if (!predicate(p)) return;
        off();
        resolve(p);
      });
    });
  }

  emit<K extends EventName>(name: K, payload: BuilderEvents[K]): void {
    const set = this.listeners.get(name);
    if (set) for (const fn of set) {
      try {
        fn(payload);
      } catch {
        // a listener's failure never breaks the emitter
      }
    }
    let channel = this.channels.get(name);
    if (!channel) this.channels.set(name, (channel = diagnostics.channel(`builder:${name}`)));
    if (channel.hasSubscribers) channel.publish(payload);
  }

  log(level: BuilderEvents['log']['level'], message: string, fields?: Record<string, unknown>): void {
    this.emit('log', fields ? { level, message, fields } : { level, message });
  }
}
