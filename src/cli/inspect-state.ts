// `builder inspect --state DIR`: the current state of every job-run and worker-connection actor of a
// server, read from its LMDB store (read-only: safe while the server runs), with each actor's context
// (deadlines absolute and relative) and its recent transitions. Also the runs handed to workers and the
// queues, for the jobs that have no actor yet. A table, or --json.
import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { JobRunContext, Transition } from '../../machines/job-run.ts';
import type { WorkerConnectionContext } from '../../machines/worker-connection.ts';
import type { Store } from '../store/store.ts';
import { colorWanted, makeStyle, type Style } from './client/style.ts';
import { section } from './client/table.ts';
import { absoluteTime, relativeTime, whenText } from './client/time-text.ts';
import { parseArgsMessage } from './parse-args-message.ts';

export const usage = `usage: builder inspect --state DIR [options]

Shows every job run and worker connection of the server whose --dir is DIR, as stored: the state, the
context (deadlines in absolute and relative time) and the recent transitions. The store is opened
read-only, so this is safe while the server runs.

  --state DIR          the server's data directory (its --dir)
  --kind KIND          only job or worker actors (default both)
  --id ID              only the actor with this id (a run's uuid, a worker's id)
  --transitions N      recent transitions shown per actor (default 5; 0 for none)
  --json               print JSON: {"dir","now","jobs":[...],"workers":[...],"running":[...],"queues":{...}}
  --color WHEN         auto, always or never (default auto)
  -h, --help           this text`;

export interface ActorView<C> {
  kind: 'job' | 'worker';
  id: string;
  state: string;
  status: string;
  context: C;
  transitions: Transition[];
}

export interface StateView {
  dir: string;
  now: number;
  jobs: ActorView<JobRunContext>[];
  workers: ActorView<WorkerConnectionContext>[];
  running: ReturnType<Store['listRunning']>;
  queues: Record<string, string[]>;
}

interface PersistedSnapshot {
  value?: unknown;
  status?: string;
  context?: unknown;
}

function stateName(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') return Object.entries(value).map(([k, v]) => `${k}.${stateName(v)}`).join(',');
  return String(value);
}

function actorView<C extends { transitions?: Transition[] }>(kind: 'job' | 'worker', id: string, snapshot: unknown): ActorView<C> {
  const s = (snapshot ?? {}) as PersistedSnapshot;
  const context = (s.context ?? {}) as C;
  return { kind, id, state: stateName(s.value), status: s.status ?? 'unknown', context, transitions: context.transitions ?? [] };
}

export async function openStoreReadOnly(dir: string): Promise<Store> {
  const { openLmdbStore } = await import('../store/lmdb-store.ts');
  return openLmdbStore(dir, { readOnly: true });
}

/** Reads the actors and runs of the store at dir. */
export function readState(store: Store, dir: string, now: number): StateView {
  const queues: Record<string, string[]> = {};
  for (const p of store.listQueuePlatforms()) queues[p] = store.listQueue(p).map((j) => j.name);
  return {
    dir,
    now,
    jobs: store.listActorSnapshots('job').map((a) => actorView<JobRunContext>('job', a.id, a.snapshot)),
    workers: store.listActorSnapshots('worker').map((a) => actorView<WorkerConnectionContext>('worker', a.id, a.snapshot)),
    running: store.listRunning(),
    queues,
  };
}

const when = (at: number | undefined | null, now: number): string => (at === undefined || at === null ? '-' : whenText(at, now));

function transitionLines(actors: ActorView<{ transitions?: Transition[] }>[], n: number, now: number, style: Style, label: (a: ActorView<any>) => string): string[] {
  if (n === 0) return [];
  const out: string[] = [];
  for (const a of actors) {
    out.push(`${style.bold(a.kind)} ${a.id} ${style.dim(label(a))}`);
    const recent = a.transitions.slice(-n);
    if (a.transitions.length > recent.length) out.push(style.dim(`  ... ${a.transitions.length - recent.length} earlier`));
    for (const t of recent) out.push(`  ${absoluteTime(t.at)} ${style.dim(`(${relativeTime(t.at, now)})`)}  ${t.state}${t.note ? `  ${style.dim(t.note)}` : ''}`);
  }
  return out;
}

export function stateText(v: StateView, style: Style, transitions: number): string {
  const now = v.now;
  const jobs = section(
    `JOB RUNS (${v.jobs.length})`,
    ['UUID', 'JOB', 'PLATFORM', 'STATE', 'WORKER', 'ATTEMPTS', 'ASSIGNED', 'DEADLINE', 'RESULT'],
    v.jobs.map((a) => {
      const c = a.context;
      return [a.id, c.jobName ?? '-', c.platform ?? '-', a.state, c.workerId ?? '-', String(c.attempts ?? 0), when(c.assignedAt, now), when(c.deadline, now), c.result ?? '-'];
    }),
    style,
  );
  const workers = section(
    `WORKER CONNECTIONS (${v.workers.length})`,
    ['ID', 'REMOTE', 'STATE', 'PLATFORM', 'JOB', 'JOBS DONE', 'CONNECTED'],
    v.workers.map((a) => {
      const c = a.context;
      return [a.id, c.remote ?? '-', a.state, c.platform ?? '-', c.uuid ?? '-', String(c.jobsDone ?? 0), when(c.connectedAt, now)];
    }),
    style,
  );
  const running = section(
    `WITH A WORKER (${v.running.length})`,
    ['UUID', 'JOB', 'PLATFORM', 'WORKER', 'STARTED', 'DEADLINE'],
    v.running.map((r) => [r.uuid, r.jobName, r.platform, r.workerId ?? '-', when(r.startedAt, now), when(r.deadline, now)]),
    style,
  );
  const queues = section(
    'QUEUES',
    ['PLATFORM', 'JOBS'],
    Object.entries(v.queues).map(([p, jobs]) => [p, jobs.length ? jobs.join(', ') : style.dim('(empty)')]),
    style,
  );
  const lines = [
    ...transitionLines(v.jobs, transitions, now, style, (a) => `${a.context.jobName ?? ''} ${a.state}`),
    ...transitionLines(v.workers, transitions, now, style, (a) => `${a.context.remote ?? ''} ${a.state}`),
  ];
  const recent = lines.length ? `${style.bold(style.cyan('RECENT TRANSITIONS'))}\n${lines.join('\n')}` : '';
  return [`${style.dim(`${v.dir} at ${absoluteTime(now)}`)}`, jobs, workers, running, queues, recent].filter(Boolean).join('\n\n');
}

export async function inspectState(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        state: { type: 'string' },
        kind: { type: 'string' },
        id: { type: 'string' },
        transitions: { type: 'string', default: '5' },
        json: { type: 'boolean', default: false },
        color: { type: 'string', default: 'auto' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
    }));
  } catch (e) {
    return bad(parseArgsMessage(e));
  }
  if (values.help) {
    process.stdout.write(usage + '\n');
    return 0;
  }
  const dir = values.state;
  const n = Number(values.transitions);
  if (!dir) return bad('--state needs the server\'s data directory');
  if (!Number.isInteger(n) || n < 0) return bad(`--transitions: not a whole number: ${JSON.stringify(values.transitions)}`);
  if (values.kind !== undefined && values.kind !== 'job' && values.kind !== 'worker') return bad(`--kind: ${JSON.stringify(values.kind)} is not one of job, worker`);
  if (!['auto', 'always', 'never'].includes(values.color!)) return bad(`--color: ${JSON.stringify(values.color)} is not one of auto, always, never`);
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
  } catch (e) {
    process.stderr.write(`builder inspect: --state ${dir}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (e as Error).message}\n`);
    return 1;
  }
  let store: Store;
  try {
    store = await openStoreReadOnly(dir);
  } catch (e) {
    process.stderr.write(`builder inspect: cannot open the store in ${dir}: ${(e as Error).message}\n`);
    return 1;
  }
  let view: StateView;
  try {
    view = readState(store, dir, Date.now());
  } finally {
    await store.close();
  }
  if (values.kind === 'job') view.workers = [];
  if (values.kind === 'worker') view.jobs = [];
  if (values.id !== undefined) {
    view.jobs = view.jobs.filter((a) => a.id === values.id);
    view.workers = view.workers.filter((a) => a.id === values.id);
    view.running = view.running.filter((r) => r.uuid === values.id);
    if (view.jobs.length + view.workers.length + view.running.length === 0) {
      process.stderr.write(`builder inspect: no actor ${values.id} in ${dir}\n`);
      return 1;
    }
  }
  if (values.json) {
    process.stdout.write(JSON.stringify(view) + '\n');
    return 0;
  }
  const color = values.color === 'always' || (values.color === 'auto' && colorWanted(process.stdout));
  process.stdout.write(stateText(view, makeStyle(color), n) + '\n');
  return 0;
}

function bad(message: string): number {
  process.stderr.write(`builder inspect: ${message} (see builder inspect --state DIR --help)\n`);
  return 2;
}
