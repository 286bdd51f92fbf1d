// jobd's name space (docs/NINEP-NAMESPACE.md) over a JobsBackend:
//   /clone  /jobs/<name>/{ctl,cmd,schedule,log,platform,runs/<uuid>/{status,console}}
//   /queues/<platform>  /workers
import { dir, file, QidPaths, type VDir, type VNode } from './vfs.ts';
import { invalid, notFound, NinepError, Errno } from '../errors/ninep-error.ts';
import type { JobDefinition, JobView, JobsBackend } from './jobs-backend.ts';

export const LOG_ENTRIES = 32;
const NAME = /^[A-Za-z0-9_]+$/;
const PLATFORM = /^[A-Za-z0-9_.-]+$/;
const ZONE_PREFIX = /^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$/;

/** RFC 3339 in UTC, to the second: the times the schedule and log files show. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A written line as text, with the one trailing newline `echo` adds taken off. */
function writtenLine(data: Uint8Array, what: string): string {
  let s: string;
  try {
    s = utf8.decode(data);
  } catch {
    throw invalid(`${what} is not valid UTF-8`);
  }
  if (s.endsWith('\n')) s = s.slice(0, -1);
  if (s.endsWith('\r')) s = s.slice(0, -1);
  if (s.includes('\n')) throw invalid(`${what} must be one line`);
  return s;
}

/**
 * Parses a clone line: "name:cron-expression:command" or "name@platform:cron-expression:command".
 * The first two colons separate; the command keeps any further colons. The expression may start
 * with "TZ=<zone> " (or "CRON_TZ=<zone> ") to be evaluated in that zone.
 */
export function parseCloneLine(line: string): JobDefinition {
  const usage = 'expected "name:cron-expression:command" (or "name@platform:cron-expression:command")';
  const first = line.indexOf(':');
  const second = first < 0 ? -1 : line.indexOf(':', first + 1);
  if (first < 0 || second < 0) throw invalid(`bad job definition: ${usage}`);
  const head = line.slice(0, first).trim();
  let expr = line.slice(first + 1, second).trim();
  const command = line.slice(second + 1);
  const at = head.indexOf('@');
  const name = at < 0 ? head : head.slice(0, at);
  const platform = at < 0 ? undefined : head.slice(at + 1);
  if (name === '') throw invalid(`bad job definition: the job name is empty; ${usage}`);
  if (!NAME.test(name)) throw invalid(`invalid job name "${name}": use letters, digits and _`);
  if (platform !== undefined && !PLATFORM.test(platform)) {
    throw invalid(`invalid platform "${platform}": use letters, digits, _, - and .`);
  }
  let timeZone: string | undefined;
  const zoned = ZONE_PREFIX.exec(expr);
  if (zoned) {
    timeZone = zoned[1]!;
    expr = zoned[2]!.trim();
  }
  if (expr === '') throw invalid(`bad job definition for "${name}": the cron expression is empty`);
  if (command.trim() === '') throw invalid(`bad job definition for "${name}": the command is empty`);
  return { name, cronExpr: expr, command, ...(timeZone ? { timeZone } : {}), ...(platform ? { platform } : {}) };
}

/** Job names that cannot be one path element are left out of /jobs (only CLI jobs can have them). */
const pathElement = (s: string) => s !== '' && s !== '.' && s !== '..' && !s.includes('/');

export function jobdNamespace(backend: JobsBackend): VDir {
  const ids = new QidPaths();

  const mustGet = async (name: string): Promise<JobView> => {
    const job = await backend.getJob(name);
    if (!job) throw notFound(`job "${name}"`);
    return job;
  };

  const clone = file('clone', ids.of('/clone'), {
    write: async (data) => {
      const def = parseCloneLine(writtenLine(data, 'a job definition'));
      if (await backend.getJob(def.name)) {
        throw new NinepError('ERR_NINEP_JOB_EXISTS', `job "${def.name}" already exists`, Errno.EEXIST);
      }
      await backend.createJob(def);
    },
  });

  const runDir = (job: string, run: { uuid: string }): VDir => {
    const base = `/jobs/${job}/runs/${run.uuid}`;
    const current = async () => {
      const r = (await mustGet(job)).runs.find((x) => x.uuid === run.uuid);
      if (!r) throw notFound(`run ${run.uuid} of job "${job}"`);
      return r;
    };
    return dir(run.uuid, ids.of(base), () => [
      file('status', ids.of(`${base}/status`), { read: async () => `${(await current()).status}\n` }),
      file('console', ids.of(`${base}/console`), { read: async () => (await current()).console }),
    ]);
  };

  const runsDir = (name: string): VDir => {
    const runDirs = async () => (await mustGet(name)).runs.filter((r) => pathElement(r.uuid)).map((r) => runDir(name, r));
    return dir('runs', ids.of(`/jobs/${name}/runs`), runDirs);
  };

  const jobDir = (name: string): VDir => {
    const base = `/jobs/${name}`;
    const children: VNode[] = [
      file('ctl', ids.of(`${base}/ctl`), {
        read: async () => `${(await mustGet(name)).started ? 'started' : 'stopped'}\n`,
        write: async (data) => {
          const command = writtenLine(data, 'a ctl command').trim().toLowerCase();
          await mustGet(name);
          if (command === 'start') await backend.setStarted(name, true);
          else if (command === 'stop') await backend.setStarted(name, false);
          else if (command === 'delete') await backend.deleteJob(name);
          else throw invalid(`unknown ctl command "${command}": write start, stop or delete`);
        },
      }),
      file('cmd', ids.of(`${base}/cmd`), { read: async () => `${(await mustGet(name)).command}\n` }),
      file('schedule', ids.of(`${base}/schedule`), {
        read: async () => {
          const job = await mustGet(name);
          const expr = job.timeZone ? `TZ=${job.timeZone} ${job.schedule}` : job.schedule;
          return job.started && job.nextRun !== null ? `${expr}:${formatTime(job.nextRun)}\n` : `${expr}\n`;
        },
      }),
      file('log', ids.of(`${base}/log`), {
        read: async () =>
          (await mustGet(name)).log
            .slice(-LOG_ENTRIES)
            .map((e) => `${formatTime(e.time)}:${e.output.endsWith('\n') ? e.output : `${e.output}\n`}`)
            .join(''),
      }),
      file('platform', ids.of(`${base}/platform`), { read: async () => `${(await mustGet(name)).platform}\n` }),
      runsDir(name),
    ];
    return dir(name, ids.of(base), () => children, { perm: 0o755, remove: async () => {
      await mustGet(name);
      await backend.deleteJob(name);
    } });
  };

  const jobs = dir(
    'jobs',
    ids.of('/jobs'),
    async () => (await backend.listJobs()).filter((j) => pathElement(j.name)).map((j) => jobDir(j.name)),
    { lookup: async (n) => (pathElement(n) && (await backend.getJob(n)) ? jobDir(n) : undefined) },
  );

  const queues = dir('queues', ids.of('/queues'), async () =>
    (await backend.queues())
      .filter((q) => pathElement(q.platform))
      .map((q) => file(q.platform, ids.of(`/queues/${q.platform}`), {
        read: async () => {
          const now = (await backend.queues()).find((x) => x.platform === q.platform);
          return (now?.jobs ?? []).map((j) => `${j}\n`).join('');
        },
      })),
  );

  const workers = file('workers', ids.of('/workers'), {
    read: async () => (await backend.workers()).map((w) => `${w.id} ${w.platform} ${w.remote} ${w.state}\n`).join(''),
  });

  const top: VNode[] = [clone, jobs, queues, workers];
  return dir('/', ids.of('/'), () => top);
}
