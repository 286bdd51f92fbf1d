// An in-memory JobsBackend for the 9P name-space tests, until they run against the builder
// server's own backend: it keeps jobs in a Map, evaluates schedules with the project's cron parser
// (src/scheduler/cron.ts) on an injectable clock, and runs a due job as a real `sh -c` process,
// logging its output. Queues and workers are whatever the test sets.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { BuilderError } from '../../src/errors/builder-error.ts';
import type { Clock, TimerHandle } from '../../src/scheduler/clock.ts';
import type {
  JobDefinition, JobLogEntry, JobRunView, JobView, JobsBackend, QueueView, WorkerView,
} from '../../src/ninep/jobs-backend.ts';

export interface CronSchedule {
  next(afterMs: number): number | null;
}
export type CronParse = (expr: string, opts: { timeZone?: string }) => CronSchedule;

interface MemoryJob {
  def: JobDefinition;
  schedule: CronSchedule;
  started: boolean;
  nextRun: number | null;
  timer?: TimerHandle;
  log: JobLogEntry[];
  runs: JobRunView[];
}

/**
 * Loads the project's cron parser (src/scheduler/cron.ts, written by another helper). While that
 * file is not in the tree, cron-parser itself stands in for the plain 5-field forms and @macros;
 * `full` says whether jobd's whole dialect (7 fields, year, ?) is available.
 */
export async function loadCronParser(): Promise<{ parse: CronParse; full: boolean }> {
  const specifier = '../../src/scheduler/cron.ts';
  try {
    const mod = (await import(specifier)) as { parseCron: (expr: string, opts: { timeZone?: string }) => { next(after: number): number | Date | null } };
    return {
      full: true,
      parse: (expr, opts) => {
        const c = mod.parseCron(expr, opts);
        return { next: (after) => {
          const n = c.next(after);
          return n === null ? null : typeof n === 'number' ? n : n.getTime();
        } };
      },
    };
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    const { CronExpressionParser } = await import('cron-parser');
    return {
      full: false,
      parse: (expr, opts) => {
        if (expr.trim().split(/\s+/).length !== 5 && !expr.startsWith('@')) throw new Error('only 5 fields without src/scheduler/cron.ts');
        CronExpressionParser.parse(expr, opts.timeZone ? { tz: opts.timeZone } : {});
        return { next: (after) => {
          try {
            return CronExpressionParser.parse(expr, { currentDate: new Date(after), ...(opts.timeZone ? { tz: opts.timeZone } : {}) }).next().getTime();
          } catch {
            return null;
          }
        } };
      },
    };
  }
}

export class MemoryJobsBackend implements JobsBackend {
  readonly jobs = new Map<string, MemoryJob>();
  queueList: QueueView[] = [];
  workerList: WorkerView[] = [];
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly clock: Clock,
    private readonly parse: CronParse,
    readonly defaultPlatform = 'debian-12',
  ) {}

  private view(j: MemoryJob): JobView {
    return {
      name: j.def.name,
      platform: j.def.platform ?? this.defaultPlatform,
      command: j.def.command,
      schedule: j.def.cronExpr,
      ...(j.def.timeZone ? { timeZone: j.def.timeZone } : {}),
      started: j.started,
      nextRun: j.started ? j.nextRun : null,
      log: j.log.slice(-32),
      runs: j.runs.slice(-10),
    };
  }

  listJobs(): JobView[] {
    return [...this.jobs.values()].map((j) => this.view(j));
  }

  getJob(name: string): JobView | undefined {
    const j = this.jobs.get(name);
    return j && this.view(j);
  }

  async createJob(def: JobDefinition): Promise<void> {
    if (this.jobs.has(def.name)) throw new BuilderError('ERR_JOB_EXISTS', `job "${def.name}" already exists`);
    let schedule: CronSchedule;
    try {
      schedule = this.parse(def.cronExpr, def.timeZone ? { timeZone: def.timeZone } : {});
    } catch (e) {
      throw new BuilderError('ERR_CRON_INVALID', `bad cron expression "${def.cronExpr}": ${(e as Error).message}`);
    }
    const next = schedule.next(this.clock.now());
    if (next === null) throw new BuilderError('ERR_CRON_NEVER', `cron expression "${def.cronExpr}" never fires`);
    this.jobs.set(def.name, { def, schedule, started: false, nextRun: next, log: [], runs: [] });
  }

  async setStarted(name: string, started: boolean): Promise<void> {
    const j = this.must(name);
    j.started = started;
    if (j.timer) this.clock.clearTimeout(j.timer);
    delete j.timer;
    if (started) this.arm(j);
  }

  async deleteJob(name: string): Promise<void> {
    const j = this.must(name);
    if (j.timer) this.clock.clearTimeout(j.timer);
    this.jobs.delete(name);
  }

  queues(): QueueView[] {
    return this.queueList;
  }

  workers(): WorkerView[] {
    return this.workerList;
  }

  /** Resolves when every run started so far has finished. */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.all([...this.running]);
  }

  private must(name: string): MemoryJob {
    const j = this.jobs.get(name);
    if (!j) throw new BuilderError('ERR_JOB_NOT_FOUND', `job "${name}" not found`);
    return j;
  }

  private arm(j: MemoryJob): void {
    j.nextRun = j.schedule.next(this.clock.now());
    if (j.nextRun === null) return;
    j.timer = this.clock.setTimeout(() => {
      if (this.jobs.get(j.def.name) !== j || !j.started) return;
      const run = this.run(j).finally(() => this.running.delete(run));
      this.running.add(run);
      this.arm(j);
    }, j.nextRun - this.clock.now());
  }

  private run(j: MemoryJob): Promise<void> {
    const view: JobRunView = { uuid: randomUUID(), status: 'running', started: this.clock.now(), console: new Uint8Array() };
    j.runs.push(view);
    return new Promise((resolve) => {
      const child = spawn('sh', ['-c', j.def.command], { stdio: ['ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => out.push(d));
      child.on('close', (code, signal) => {
        view.console = Buffer.concat(out);
        view.status = signal ? `signalled ${signal}` : `exited ${code}`;
        view.finished = this.clock.now();
        j.log.push({ time: view.finished, output: Buffer.from(view.console).toString('utf8') });
        resolve();
      });
    });
  }
}
