// builder worker PLATFORM (alias builder-worker): takes jobs from a builder server and runs them in a sandbox.
import { parseArgs } from 'node:util';
import { createSandbox } from '../../sandbox/index.ts';
import { destroyPool } from '../pool/pool.ts';
import { WorkerError, WorkerErrorCode as E } from '../errors/worker-error.ts';
import { DEFAULT_REMOTE, parseRemote } from '../worker/remote-address.ts';
import { passedEnvironment } from '../../sandbox/job-environment.ts';
import { runWorker } from '../worker/worker-loop.ts';
import { parseArgsMessage } from './parse-args-message.ts';

const usage = `usage: builder worker PLATFORM [options]   (also: builder-worker PLATFORM)

Connects to a builder server, asks for a job of PLATFORM, runs it in a sandbox, streams its console and sends
back the result and artifacts. One job and exit by default (as the original; a supervisor restarts it).

  -r, --remote HOST:PORT      server address (default ${DEFAULT_REMOTE}, or env BUILDER_REMOTE); IPv6 as [::1]:1234
      --loop                  keep taking jobs; reconnect with jittered backoff while the server is away
      --sandbox NAME          process | bwrap | docker (default process)
      --image IMAGE           container image for --sandbox docker (required there)
      --network               let jobs reach the network (default: no network)
      --docker-network MODE   docker network of jobs given --network (default bridge; host, or a network name)
      --memory BYTES          memory limit, docker only (suffixes k, m, g; default none)
      --cpus N                CPU limit, docker only (default none)
      --pids N                process count limit, docker only (default none)
      --timeout SECONDS       per job; the whole process tree is killed after it (default 3600)
      --max-artifact-bytes N  the job fails with a message when its files add up to more (suffixes k, m, g; default none)
      --tmp DIR               where job directories are made (default the system temporary directory)
      --env NAME[=VALUE]      pass this variable to jobs (the worker's own value, or VALUE); repeatable. Jobs get
                              only PATH, HOME, TMPDIR, USER, LOGNAME, SHELL, LANG besides (docker: the image's)
      --bwrap-ro PATH         also show PATH read-only to bwrap jobs; repeatable (see docs/SANDBOXES.md)
      --timings               log where each job's cycle went (connect, wait, spawn, job, reap, report, ...) in ms
  -h, --help                  this text

Signals: SIGTERM or SIGINT once: take no new job, finish the current one, report it and exit.
Twice: kill the current job (the server puts it back in its queue) and exit.`;

function size(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+)([kmg]?)b?$/i.exec(text.trim());
  if (!m) throw new WorkerError(E.USAGE, `--${name}: not a size: ${JSON.stringify(text)}`);
  return Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] || ' ').toLowerCase());
}

function positive(name: string, text: string | undefined, integer: boolean): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new WorkerError(E.USAGE, `--${name}: expected a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(text)}`);
  return n;
}

export default async function worker(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        remote: { type: 'string', short: 'r' },
        loop: { type: 'boolean' },
        sandbox: { type: 'string' },
        image: { type: 'string' },
        network: { type: 'boolean' },
        'docker-network': { type: 'string' },
        memory: { type: 'string' },
        cpus: { type: 'string' },
        pids: { type: 'string' },
        timeout: { type: 'string' },
        'max-artifact-bytes': { type: 'string' },
        tmp: { type: 'string' },
        timings: { type: 'boolean' },
        env: { type: 'string', multiple: true },
        'bwrap-ro': { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(`builder worker: ${parseArgsMessage(err)} (see builder worker --help)\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(usage + '\n');
    return 0;
  }
  let options;
  try {
    if (positionals.length !== 1) throw new WorkerError(E.USAGE, 'expected exactly one PLATFORM');
    const platform = positionals[0]!;
    const { host, port } = parseRemote(values.remote ?? process.env.BUILDER_REMOTE ?? DEFAULT_REMOTE);
    const name = values.sandbox ?? 'process';
    const limits = { memoryBytes: size('memory', values.memory), cpus: positive('cpus', values.cpus, false), pids: positive('pids', values.pids, true) };
    const anyLimit = Object.values(limits).some((v) => v !== undefined);
    if (anyLimit && name !== 'docker') throw new WorkerError(E.USAGE, '--memory, --cpus and --pids need --sandbox docker');
    if (name === 'docker' && !values.image) throw new WorkerError(E.USAGE, '--sandbox docker needs --image');
    const timeout = positive('timeout', values.timeout, false) ?? 3600;
    let env: Record<string, string>;
    try {
      env = passedEnvironment(values.env ?? []);
    } catch (err) {
      throw new WorkerError(E.USAGE, `--env: ${(err as Error).message}`);
    }
    if (values['bwrap-ro'] && name !== 'bwrap') throw new WorkerError(E.USAGE, '--bwrap-ro needs --sandbox bwrap');
    options = {
      host,
      port,
      platform,
      sandbox: createSandbox({ name, image: values.image, dockerNetworkMode: values['docker-network'], bwrapReadOnly: values['bwrap-ro'] }),
      env,
      loop: values.loop ?? false,
      network: values.network ?? false,
      limits: anyLimit ? limits : undefined,
      timeoutMs: timeout * 1000,
      maxArtifactBytes: size('max-artifact-bytes', values['max-artifact-bytes']),
      tmpRoot: values.tmp,
      timings: values.timings ?? false,
    };
  } catch (err) {
    process.stderr.write(`builder worker: ${(err as Error).message} (see builder worker --help)\n`);
    return 2;
  }

  try {
    await options.sandbox.check({ network: options.network });
  } catch (err) {
    process.stderr.write(`builder worker: ${(err as Error).message}\n`);
    return 1;
  }

  const env = Object.keys(options.env);
  process.stderr.write(
    `builder-worker: ${options.loop ? 'taking jobs' : 'taking one job'} of ${options.platform} from ${options.host}:${options.port}; ${options.sandbox.describe?.() ?? `${options.sandbox.name} sandbox`}; jobs' environment: ${options.sandbox.name === 'docker' ? "the image's" : 'the fixed set'}${env.length ? ` and ${env.join(', ')}` : ''}\n`,
  );
  const stop = new AbortController();
  const abort = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (!stop.signal.aborted) {
      process.stderr.write(`builder-worker: ${sig}: finishing the current job, then exiting (again to kill it)\n`);
      stop.abort();
    } else {
      process.stderr.write(`builder-worker: ${sig}: killing the current job and exiting\n`);
      abort.abort();
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    return await runWorker({ ...options, stop: stop.signal, abort: abort.signal });
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await options.sandbox.cleanup?.();
    await destroyPool();
  }
}
