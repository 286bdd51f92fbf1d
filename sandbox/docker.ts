// The docker sandbox (dockerode): a fresh container per job from the configured image, no network by default,
// memory/CPU/process limits, tini as PID 1 (so the job can be signalled and its zombies reaped), killed
// and removed on timeout, on abort and by cleanup(). The job directory is bind-mounted when the engine is local;
// on a remote engine (DOCKER_HOST tcp:// or ssh://) the script is copied in and the directory copied back out.
// tini and the container's State give a script killed by signal N as exit 128+N: the script runs under
// job-shell.ts's wrapper (the image needs /bin/sh), which reports its exact status on the container's stderr.
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { Writable } from 'node:stream';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type Docker from 'dockerode';
import { systemClock, type Clock } from '../src/scheduler/clock.ts';
import { SandboxError } from '../src/errors/sandbox-error.ts';
import { LineSplitter, DEFAULT_MAX_LINE_BYTES } from '../src/worker/line-splitter.ts';
import { exitCodeWithoutMarker, parseStatusMarker, wrappedArgv, type MarkedOutcome } from './job-shell.ts';
import { reasonText } from './spawn-runner.ts';
import { readTar, writeTar } from './tar.ts';
import type { OnLine, RunOutcome, RunSpec, Sandbox } from './sandbox.ts';
import { pidAlive } from './pid-alive.ts';

export const LABEL_SANDBOX = 'org.builder.sandbox';
export const LABEL_HOST = 'org.builder.worker-host';
export const LABEL_PID = 'org.builder.worker-pid';
export const LABEL_INSTANCE = 'org.builder.worker-instance';
const JOB_DIR_IN_CONTAINER = '/build';

export interface DockerSandboxOptions {
  image: string;
  /** Default: dockerode's own defaults, which follow DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH. */
  docker?: Docker;
  /** bind: mount the job directory (local engine); copy: copy it in and out (remote engine). Default: by engine. */
  transfer?: 'bind' | 'copy';
  /** Network mode of a job that asked for network (default bridge). Without network it is always none. */
  networkMode?: string;
  clock?: Clock;
  maxLineBytes?: number;
  /** Bound on the job directory copied back from a remote engine (default 4 GiB). */
  maxCopyBytes?: number;
}

function engineIsLocal(docker: Docker): boolean {
  const modem = (docker as unknown as { modem?: { socketPath?: unknown } }).modem;
  // Without DOCKER_HOST, docker-modem's socketPath is a function that finds the local socket (not a string): a local
  // engine too. Taking it for a remote one copied every job's directory in and out (~0.4 s a job).
  return typeof modem?.socketPath === 'string' || typeof modem?.socketPath === 'function';
}

function collect(stream: NodeJS.ReadableStream, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let total = 0;
    stream.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) {
        (stream as unknown as { destroy?: () => void }).destroy?.();
        reject(new SandboxError('ERR_SANDBOX_DOCKER', `job directory larger than ${limit} bytes in the container`));
        return;
      }
      parts.push(chunk);
    });
    stream.on('end', () => resolve(Buffer.concat(parts)));
    stream.on('error', reject);
  });
}

// dockerode (with ssh2 and its native modules, ~20 MiB) is loaded only when a docker sandbox is made: every worker
// imports this file, and a process sandbox's worker forks once per job, at a cost that grows with its memory.
const loadDockerode = (): typeof Docker => createRequire(import.meta.url)('dockerode') as typeof Docker;

export class DockerSandbox implements Sandbox {
  readonly name = 'docker' as const;
  readonly docker: Docker;
  readonly instance = randomUUID();
  /** Containers of jobs in progress, with how to stop each (its run then reports aborted). */
  private readonly live = new Map<Docker.Container, (reason: string) => void>();
  private reaped = false;
  private readonly removals = new Set<Promise<unknown>>();

  constructor(private readonly options: DockerSandboxOptions) {
    if (!options.image) throw new SandboxError('ERR_SANDBOX_SPEC', 'the docker sandbox needs an image (--image)');
    this.docker = options.docker ?? new (loadDockerode())();
  }

  get transfer(): 'bind' | 'copy' {
    return this.options.transfer ?? (engineIsLocal(this.docker) ? 'bind' : 'copy');
  }

  async check(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (err) {
      throw new SandboxError('ERR_SANDBOX_DOCKER', `the docker engine does not answer (DOCKER_HOST=${process.env.DOCKER_HOST ?? 'unset'}): ${(err as Error).message}`);
    }
    try {
      await this.docker.getImage(this.options.image).inspect();
    } catch (err) {
      const missing = (err as { statusCode?: number }).statusCode === 404;
      throw new SandboxError('ERR_SANDBOX_DOCKER', `image ${this.options.image} is not on the engine${missing ? '' : `: ${engineMessage(err)}`} (docker load or docker pull it first)`);
    }
  }

  /** Removes containers left by workers of this host that no longer run (a worker killed with SIGKILL). */
  async reapStale(): Promise<number> {
    const list = await this.docker.listContainers({ all: true, filters: { label: [`${LABEL_HOST}=${hostname()}`] } });
    let removed = 0;
    for (const info of list) {
      const pid = Number(info.Labels[LABEL_PID]);
      if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) continue;
      await this.docker.getContainer(info.Id).remove({ force: true, v: true }).catch(() => undefined);
      removed++;
    }
    return removed;
  }

  async run(spec: RunSpec, onLine: OnLine, signal: AbortSignal): Promise<RunOutcome> {
    if (signal.aborted) return { type: 'aborted', reason: reasonText(signal.reason) };
    if (!this.reaped) {
      this.reaped = true;
      await this.reapStale().catch(() => undefined);
    }
    const clock = this.options.clock ?? systemClock;
    const transfer = this.transfer;
    const limits = spec.limits ?? {};
    const user = `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`;
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer({
        name: `builder-job-${randomUUID()}`,
        Image: this.options.image,
        Cmd: wrappedArgv(spec.script),
        WorkingDir: JOB_DIR_IN_CONTAINER,
        Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
        User: user,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        OpenStdin: false,
        Labels: {
          [LABEL_SANDBOX]: '1',
          [LABEL_HOST]: hostname(),
          [LABEL_PID]: String(process.pid),
          [LABEL_INSTANCE]: this.instance,
        },
        HostConfig: {
          Init: true,
          NetworkMode: spec.network ? (this.options.networkMode ?? 'bridge') : 'none',
          Binds: transfer === 'bind' ? [`${spec.dir}:${JOB_DIR_IN_CONTAINER}`] : [],
          SecurityOpt: ['no-new-privileges'],
          ...(limits.memoryBytes !== undefined ? { Memory: limits.memoryBytes, MemorySwap: limits.memoryBytes } : {}),
          ...(limits.cpus !== undefined ? { NanoCpus: Math.round(limits.cpus * 1e9) } : {}),
          ...(limits.pids !== undefined ? { PidsLimit: limits.pids } : {}),
        },
      });
    } catch (err) {
      const missing = (err as { statusCode?: number }).statusCode === 404;
      const why = missing ? 'the image is not on the engine (docker load or docker pull it first)' : engineMessage(err);
      return { type: 'failed', message: `docker: cannot create a container from ${this.options.image}: ${why}` };
    }
    spec.timer?.mark('create');
    let stopped: { type: 'timeout' } | { type: 'aborted'; reason: string } | undefined;
    const kill = () => {
      container.kill({ signal: 'SIGKILL' }).catch(() => undefined);
    };
    this.live.set(container, (reason) => {
      stopped ??= { type: 'aborted', reason };
      kill();
    });
    const timer = clock.setTimeout(() => {
      stopped ??= { type: 'timeout' };
      kill();
    }, spec.timeoutMs);
    const onAbort = () => {
      stopped ??= { type: 'aborted', reason: reasonText(signal.reason) };
      kill();
    };
    signal.addEventListener('abort', onAbort, { once: true });

    const maxLineBytes = this.options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    const console = new LineSplitter(onLine, maxLineBytes);
    let marker: MarkedOutcome | undefined;
    const status = new LineSplitter((line) => {
      const marked = parseStatusMarker(line);
      if (marked === undefined) onLine(line);
      else marker = marked;
    }, maxLineBytes);

    try {
      if (transfer === 'copy') await this.copyIn(container, spec);
      const stream = await container.attach({ stream: true, stdout: true, stderr: true });
      const drained = new Promise<void>((resolve) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', () => resolve());
      });
      container.modem.demuxStream(stream, sink((c) => console.push(c)), sink((c) => status.push(c)));
      spec.timer?.mark('attach');
      if (!stopped) await container.start();
      spec.timer?.mark('start');
      if (stopped) kill();
      // Asked once started: 'not-running' then means exited (a created container would match at once).
      const { StatusCode: code } = (await container.wait({ condition: 'not-running' })) as { StatusCode: number };
      spec.timer?.mark('job');
      spec.onEnded?.();
      await Promise.race([drained, delay(2000)]);
      spec.timer?.mark('drain');
      (stream as unknown as { destroy?: () => void }).destroy?.();
      console.end();
      status.end();
      if (stopped) return stopped;
      // Only a failed job can have been killed for its memory: a successful one needs no inspect round trip.
      if (code !== 0 && (await container.inspect()).State.OOMKilled) return { type: 'out-of-memory' };
      const outcome: RunOutcome = marker ?? exitCodeWithoutMarker(code);
      if (outcome.type === 'exited' && transfer === 'copy') await this.copyOut(container, spec.dir);
      return outcome;
    } catch (err) {
      if (stopped) return stopped;
      return { type: 'failed', message: `docker: ${(err as Error).message}` };
    } finally {
      clock.clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      // The job's end does not wait for the engine to remove its container (the directory is on the host, or was
      // copied out): removal goes on while the next job runs; cleanup() waits for what is still pending.
      const removal = container.remove({ force: true, v: true }).catch(() => undefined);
      this.removals.add(removal);
      void removal.finally(() => {
        this.removals.delete(removal);
        this.live.delete(container);
      });
    }
  }

  private async copyIn(container: Docker.Container, spec: RunSpec): Promise<void> {
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    const script = await readFile(join(spec.dir, spec.script));
    const root = JOB_DIR_IN_CONTAINER.slice(1);
    const archive = writeTar([
      { path: root, type: 'dir', mode: 0o700, uid, gid },
      { path: `${root}/${spec.script}`, type: 'file', mode: 0o500, data: script, uid, gid },
    ]);
    await container.putArchive(archive, { path: '/' });
  }

  /** Copies the regular files of the container's job directory back into dir; nothing else, nothing outside. */
  private async copyOut(container: Docker.Container, dir: string): Promise<void> {
    const stream = await container.getArchive({ path: JOB_DIR_IN_CONTAINER });
    const items = readTar(await collect(stream, this.options.maxCopyBytes ?? 4 * 1024 ** 3));
    const base = posix.basename(JOB_DIR_IN_CONTAINER);
    for (const item of items) {
      if (item.type !== 'file') continue;
      const parts = posix.normalize(item.path).split('/').filter((p) => p !== '' && p !== '.');
      if (parts[0] !== base || parts.length < 2 || parts.includes('..')) continue;
      const target = join(dir, ...parts.slice(1));
      await mkdir(dirname(target), { recursive: true });
      // The script is already there (read-only); everything else is the job's output.
      await writeFile(target, item.data, { flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
    }
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.removals);
    for (const stop of this.live.values()) stop('worker exiting');
    await Promise.all([...this.live.keys()].map((c) => c.remove({ force: true, v: true }).catch(() => undefined)));
    const left = await this.docker
      .listContainers({ all: true, filters: { label: [`${LABEL_INSTANCE}=${this.instance}`] } })
      .catch(() => []);
    await Promise.all(left.map((c) => this.docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
  }
}

function sink(push: (chunk: Buffer) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      push(chunk);
      done();
    },
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** The engine's own words for a failed call (dockerode prefixes them with its HTTP status and a guess). */
function engineMessage(err: unknown): string {
  const e = err as { json?: { message?: unknown }; message?: string };
  const own = typeof e.json?.message === 'string' ? e.json.message : e.message ?? String(err);
  return own.trim();
}
