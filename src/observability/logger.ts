// Writes the event bus to a stream, as text lines or JSON lines, filtered by level.
import type { BuilderEvents, EventBus, EventName } from './events.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

const eventLevels: Partial<Record<EventName, LogLevel>> = {
  'server:listening': 'info',
  'server:recovered': 'info',
  'connection:open': 'debug',
  'connection:error': 'warn',
  'connection:closed': 'debug',
  'schedule:added': 'info',
  'schedule:removed': 'info',
  'schedule:fired': 'debug',
  'queue:added': 'debug',
  'worker:waiting': 'debug',
  'worker:closed': 'debug',
  'job:assigned': 'info',
  'job:started': 'debug',
  'job:finished': 'info',
  'job:timeout': 'warn',
  'job:requeued': 'warn',
  'job:failed': 'warn',
  'actor:transition': 'debug',
  'upload:done': 'info',
  'upload:failed': 'warn',
};

function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return value;
}

export function attachLogger(bus: EventBus, opts: { level: LogLevel; json: boolean; stream?: NodeJS.WritableStream }): () => void {
  const out = opts.stream ?? process.stderr;
  const min = rank[opts.level];
  const write = (level: LogLevel, event: string, fields: Record<string, unknown>) => {
    if (rank[level] < min) return;
    const time = new Date().toISOString();
    if (opts.json) {
      out.write(JSON.stringify({ time, level, event, ...fields }, (_k, v) => plain(v)) + '\n');
    } else {
      const text = Object.entries(fields)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v, (_k, x) => plain(x))}`)
        .join(' ');
      out.write(`${time} ${level.toUpperCase().padEnd(5)} ${event} ${text}\n`);
    }
  };
  const offs: (() => void)[] = [];
  for (const [name, level] of Object.entries(eventLevels) as [EventName, LogLevel][]) {
    offs.push(bus.on(name, (p) => write(level, name, p as Record<string, unknown>)));
  }
  offs.push(
    bus.on('log', (p: BuilderEvents['log']) => write(p.level, p.message, p.fields ?? {})),
  );
  return () => offs.forEach((f) => f());
}
