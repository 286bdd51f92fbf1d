// The worker conversation (PROTOCOL.md): ClientHello(worker, 5) → ServerHello → JobRequested(platform) → the server
// blocks until it has a job → JobSchedule(uuid, job) → Output(uuid, line)* → JobFinished(uuid, result, files), then
// the connection ends. One job and exit by default, as the original; with loop, jobs one after another, reconnecting
// with jittered backoff while the server is away. A stop request (the first SIGTERM) lets the current job finish and
// report; a second one (abort) kills the job and drops the connection, so the server puts the job back in its queue.
import type { CmdSocket } from '../protocol/cmd-socket.ts';
import { encodeCmd } from '../protocol/cmd-codec.ts';
import { connect } from '../protocol/connect.ts';
import { frame } from '../protocol/framing.ts';
import { notBuilderText, watchFirstBytes } from '../protocol/not-builder.ts';
import { ProtocolError } from '../errors/protocol-error.ts';
import { WORKER_VERSION, type Cmd, type ScriptJob, type Uuid } from '../protocol/types.ts';
import { uuidToString } from '../protocol/uuid.ts';
import { systemClock, type Clock } from '../scheduler/clock.ts';
import type { Sandbox, SandboxLimits } from '../../sandbox/sandbox.ts';
import { WorkerError, WorkerErrorCode as E } from '../errors/worker-error.ts';
import { Backoff, type BackoffOptions } from './backoff.ts';
import { OutputStream } from './output-stream.ts';
import { PhaseTimer } from './phase-timer.ts';
import { abandonJobDir, JobDirs, prepareJobDir, runJob } from './run-job.ts';

export interface WorkerOptions {
  host: string;
  port: number;
  platform: string;
  sandbox: Sandbox;
  loop?: boolean;
  timeoutMs?: number;
  network?: boolean;
  limits?: SandboxLimits;
  maxArtifactBytes?: number;
  tmpRoot?: string;
  /** Variables passed to every job (worker --env). */
  env?: Record<string, string>;
  clock?: Clock;
  backoff?: BackoffOptions;
  /** Aborted: take no new job, finish the current one, then return. */
  stop?: AbortSignal;
  /** Aborted: kill the current job at once and return. */
  abort?: AbortSignal;
  log?: (message: string) => void;
  /** Log where each job's cycle went (connect, wait, spawn, job, reap, collect, report, ...). */
  timings?: boolean;
  /** Job directories kept from one job to the next (runWorker makes them for a looping worker). */
  jobDirs?: JobDirs;
  /**
   * The next JobRequested goes in the same write as the JobFinished, and the connection is kept: a server of ours
   * answers it there with the next job, the original closes (docs/PROTOCOL-EXTENSIONS.md). The looping worker sets it
   * until a server has shown that it does not keep the connection.
   */
  askAgain?: boolean;
}

export type SessionEnd =
  /** A job ran and its result was sent; again: the connection, the next JobRequested sent on it with the JobFinished. */
  | { type: 'job-done'; uuid: Uuid; result: Cmd & { type: 'job-finished' }; again?: CmdSocket }
  /** The connection kept for the next job ended before a job came (the server does not keep it: the original). */
  | { type: 'not-kept' }
  /** Stopped while waiting for a job, or the job was aborted by the worker itself. */
  | { type: 'stopped' }
  /** No connection could be made. */
  | { type: 'unreachable'; error: Error }
  /** The connection broke or the server misbehaved (a job in progress was killed); greeted: the server had answered the hello. */
  | { type: 'lost'; error: Error; greeted?: boolean };

/**
 * How long JobFinished waits after the job's last console line was written. The original server loses an observer's
 * end (its `builder observe` never returns) when the last Output and JobFinished reach it in one read: it broadcasts
 * the end before the observer waits again (docs/INTEROP.md). A job that printed nothing lately is not held.
 */
const END_AFTER_OUTPUT_MS = 20;

const defaultLog = (message: string): void => {
  process.stderr.write(`builder-worker: ${message}\n`);
};

/** Several lines logged together: one write to stderr where the log is the default (a system call each saved), else one call each. */
function logLines(log: (message: string) => void, messages: string[]): void {
  if (messages.length === 0) return;
  if (log !== defaultLog || messages.length === 1) {
    for (const m of messages) log(m);
    return;
  }
  process.stderr.write(messages.map((m) => `builder-worker: ${m}\n`).join(''));
}

/**
 * The next command, or 'stopped' once stop aborts. The abort listener is removed when the command comes: the stop
 * signal lives as long as the worker, and a listener left on it per command made every later addEventListener
 * (which walks the list) slower, job after job.
 */
async function expectCmd(socket: CmdSocket, stop: AbortSignal | undefined): Promise<Cmd | 'stopped'> {
  const next = socket.next();
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<'stopped'>((resolve) => {
    if (!stop) return;
    if (stop.aborted) return resolve('stopped');
    onAbort = () => resolve('stopped');
    stop.addEventListener('abort', onAbort, { once: true });
  });
  let winner: Cmd | null | 'stopped';
  try {
    winner = await Promise.race([next, stopped]);
  } finally {
    if (onAbort) stop!.removeEventListener('abort', onAbort);
  }
  if (winner === 'stopped') next.catch(() => undefined);
  return winner ?? Promise.reject(new WorkerError(E.NO_JOB, `server ${socket.remote} closed the connection`));
}

// The two commands a worker sends the same on every connection, framed once (per platform for JobRequested).
let helloFrame: Uint8Array | undefined;
const requestFrames = new Map<string, Uint8Array>();

function jobRequestedFrame(platform: string): Uint8Array {
  let f = requestFrames.get(platform);
  if (f === undefined) {
    f = frame(encodeCmd({ type: 'job-requested', platform }));
    requestFrames.set(platform, f);
  }
  return f;
}

/** A connection whose hello the server has answered, ready for JobRequested; or why there is none. */
/** requested: the connection kept from the last job, its JobRequested already sent. */
export type Greeting = { type: 'greeted'; socket: CmdSocket; requested?: boolean } | Exclude<SessionEnd, { type: 'job-done' | 'not-kept' }>;

/** Connects and exchanges the hello; timer (when given) marks connect and hello. */
export async function greet(options: WorkerOptions, timer?: PhaseTimer): Promise<Greeting> {
  const log = options.log ?? defaultLog;
  let socket: CmdSocket;
  let answered = false;
  // before the hello is answered, a peer that is no builder server is said so once (below), not as a frame error
  const socketLog = (m: string) => (answered || !m.includes(': closing connection: ') ? log(m) : undefined);
  try {
    socket = await connect(options.host, options.port, { log: socketLog });
    timer?.mark('connect');
  } catch (err) {
    return { type: 'unreachable', error: err as Error };
  }
  const first = watchFirstBytes(socket);
  try {
    await socket.sendFramed((helloFrame ??= frame(encodeCmd({ type: 'client-hello', kind: 'worker', version: WORKER_VERSION }))), 'client-hello');
    const hello = await expectCmd(socket, options.stop).catch((e: unknown) => {
      throw e instanceof ProtocolError ? new WorkerError(E.HANDSHAKE, notBuilderText(socket.remote, first())) : e;
    });
    if (hello === 'stopped') {
      socket.destroy();
      return { type: 'stopped' };
    }
    if (hello.type !== 'server-hello') throw new WorkerError(E.HANDSHAKE, `server answered the hello with ${hello.type}`);
    answered = true;
    timer?.mark('hello');
    return { type: 'greeted', socket };
  } catch (err) {
    socket.destroy();
    return { type: 'lost', error: err as Error, greeted: false };
  }
}

/** Closes a greeting made for a session that will not take place. */
function discard(greeting: Promise<Greeting> | undefined): void {
  void greeting?.then((g) => g.type === 'greeted' && g.socket.destroy());
}

/**
 * One connection, one job at most. greeted: a connection already made and greeted (the looping worker opens the
 * next one while the previous job is collected and reported); onEnded: told when the job's process has ended.
 */
export async function workSession(options: WorkerOptions, greeted?: Promise<Greeting>, onEnded?: () => void): Promise<SessionEnd> {
  const log = options.log ?? defaultLog;
  const timer = new PhaseTimer();
  let greeting: Greeting;
  if (greeted) {
    // What is left of connect and hello shows as hello.
    timer.mark('connect');
    greeting = await greeted;
    timer.mark('hello');
  } else {
    greeting = await greet(options, timer);
  }
  if (greeting.type !== 'greeted') return greeting;
  const socket = greeting.socket;
  let early: string | undefined;
  let kept = false;
  try {
    if (!greeting.requested) await socket.sendFramed(jobRequestedFrame(options.platform), 'job-requested');
    // Looping: the job's directory and first process are made while the server finds the job.
    if (options.loop) early = prepareJobDir({ ...options, dirs: options.jobDirs });
    // a kept connection that ends (or is reset: the original closes with the JobRequested unread) brings no job
    const schedule = await expectCmd(socket, options.stop).catch((e: unknown) => {
      if (greeting.requested) return 'not-kept' as const;
      throw e;
    });
    if (schedule === 'not-kept') return { type: 'not-kept' };
    if (schedule === 'stopped') return { type: 'stopped' };
    if (schedule.type !== 'job-schedule') throw new WorkerError(E.UNEXPECTED_COMMAND, `expected job-schedule, got ${schedule.type}`);
    timer.mark('wait');
    const dir = early;
    early = undefined;
    const end = await runScheduled(socket, schedule.uuid, schedule.job, options, log, timer, onEnded, dir);
    kept = end.type === 'job-done' && end.again !== undefined;
    return end;
  } catch (err) {
    return { type: 'lost', error: err as Error, greeted: true };
  } finally {
    if (!kept) socket.destroy();
    if (early !== undefined) await abandonJobDir(options.sandbox, early);
  }
}

async function runScheduled(
  socket: CmdSocket,
  uuid: Uuid,
  job: ScriptJob,
  options: WorkerOptions,
  log: (m: string) => void,
  timer: PhaseTimer,
  onEnded: (() => void) | undefined,
  dir: string | undefined,
): Promise<SessionEnd> {
  const id = uuidToString(uuid);
  log(`job ${job.name} ${id}: started`);
  const jobAbort = new AbortController();
  let lost: Error | undefined;
  // Set once the session is over: the connection's end is then no loss (and no error needs making).
  let over = false;
  const loseServer = (error: Error) => {
    lost ??= error;
    jobAbort.abort(new Error(`server lost: ${error.message}`));
  };
  // a listener removed after the job, not a reaction on socket.closed: a connection may carry many jobs
  const onClose = () => over || loseServer(new WorkerError(E.NO_JOB, `connection to ${socket.remote} closed during the job`));
  socket.socket.once('close', onClose);
  // Anything the server sends now is out of place; its end (or an error) means the server is gone.
  const watch = socket.watch();
  watch.next.then(
    (cmd) =>
      over ||
      loseServer(
        cmd?.type === 'failure'
          ? new WorkerError(E.SERVER_ENDED_JOB, `the server ended the job: ${cmd.message}`)
          : new WorkerError(cmd ? E.UNEXPECTED_COMMAND : E.NO_JOB, cmd ? `unexpected ${cmd.type} during the job` : 'server ended the connection during the job'),
      ),
    (err: Error) => over || loseServer(err),
  );
  const output = new OutputStream(socket, uuid, loseServer);
  const onAbort = () => jobAbort.abort(new Error('worker exiting'));
  options.abort?.addEventListener('abort', onAbort, { once: true });
  if (options.abort?.aborted) onAbort();
  try {
    const report = await runJob(job, {
      sandbox: options.sandbox,
      timeoutMs: options.timeoutMs,
      network: options.network,
      limits: options.limits,
      maxArtifactBytes: options.maxArtifactBytes,
      tmpRoot: options.tmpRoot,
      env: options.env,
      signal: jobAbort.signal,
      onLine: (line) => output.push(line),
      timer,
      onEnded,
      dir,
      dirs: options.jobDirs,
    });
    output.flush();
    if (lost) {
      log(`job ${job.name} ${id}: killed, ${lost.message}`);
      return { type: 'lost', error: lost, greeted: true };
    }
    if (report.outcome.type === 'aborted') {
      log(`job ${job.name} ${id}: killed, ${report.outcome.reason}`);
      return { type: 'stopped' };
    }
    logLines(
      log,
      report.files.map((f) => `job ${job.name} ${id}: artifact ${f.path} ${f.data.length} bytes sha256 ${Buffer.from(f.sha256).toString('hex')}`),
    );
    const finished: Cmd & { type: 'job-finished' } = {
      type: 'job-finished',
      uuid,
      result: report.result,
      files: report.files.map((f) => ({ path: f.path, data: f.data })),
    };
    await output.quietFor(END_AFTER_OUTPUT_MS);
    const again = options.askAgain === true && !options.stop?.aborted ? socket : undefined;
    await socket.send(finished, again && jobRequestedFrame(options.platform));
    over = true;
    if (!again) await socket.close();
    timer.mark('report');
    const done = `job ${job.name} ${id}: finished, ${describe(report.result)}, ${report.files.length} files`;
    logLines(log, options.timings ? [done, `job ${job.name} ${id}: timings ${timer.summary()}`] : [done]);
    return { type: 'job-done', uuid, result: finished, ...(again ? { again } : {}) };
  } finally {
    over = true;
    watch.stop();
    socket.socket.off('close', onClose);
    options.abort?.removeEventListener('abort', onAbort);
  }
}

function describe(result: Cmd & { type: 'job-finished' } extends { result: infer R } ? R : never): string {
  switch (result.type) {
    case 'exited':
      return `exited ${result.code}`;
    case 'signalled':
      return `signalled ${result.signal}`;
    case 'stopped':
      return `stopped ${result.signal}`;
    case 'msg':
      return result.message;
  }
}

function sleep(clock: Clock, ms: number, stop: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = clock.setTimeout(done, ms);
    function done(): void {
      clock.clearTimeout(timer);
      stop?.removeEventListener('abort', done);
      resolve();
    }
    stop?.addEventListener('abort', done, { once: true });
    if (stop?.aborted) done();
  });
}

/** Runs the worker until done; returns the process exit code. */
export async function runWorker(options: WorkerOptions): Promise<number> {
  const log = options.log ?? defaultLog;
  const clock = options.clock ?? systemClock;
  const backoff = new Backoff(options.backoff);
  const stop = anySignal(options.stop, options.abort);
  // The clock's timers do not hold the process open (the server's must not); a looping worker waiting out its
  // backoff has nothing else that does, and Node would end it (exit 13, an unsettled top-level await).
  const keepAlive = options.loop ? setInterval(() => undefined, 2 ** 30) : undefined;
  const jobDirs = options.loop ? (options.jobDirs ?? new JobDirs()) : options.jobDirs;
  try {
    return await loop({ ...options, jobDirs }, log, clock, backoff, stop);
  } finally {
    clearInterval(keepAlive);
    await jobDirs?.clear();
  }
}

async function loop(options: WorkerOptions, log: (m: string) => void, clock: Clock, backoff: Backoff, stop: AbortSignal): Promise<number> {
  let greeted: Promise<Greeting> | undefined;
  // Looping: the connection is kept for the next job (its JobRequested sent with the JobFinished) where the server
  // keeps it (ours; the original closes it). Whether it does is unknown until a kept connection brings a job (yes) or
  // ends without one (no: the next job goes on a fresh connection, and the worker stops asking); a server that stops
  // keeping it (a restart into an older version) makes it unknown again.
  let keeps: boolean | undefined;
  let kept = false;
  for (;;) {
    if (stop.aborted) {
      discard(greeted);
      return 0;
    }
    // Looping, where the server is known not to keep the connection: the next one is made and greeted as soon as this
    // job's process has ended, while its artifacts are collected and its result sent. (Not while that is unknown: a
    // spare connection would sit idle on a server that keeps this one; the original costs one late connection, once.)
    let next: Promise<Greeting> | undefined;
    const sessionOptions = { ...options, stop, askAgain: options.loop === true && keeps !== false };
    const onEnded =
      options.loop && keeps === false
        ? () => {
            if (!stop.aborted) next ??= greet(sessionOptions);
          }
        : undefined;
    const onKeptConnection = kept;
    const end = await workSession(sessionOptions, greeted, onEnded);
    greeted = undefined;
    kept = false;
    if (onKeptConnection) {
      if (end.type === 'not-kept') {
        keeps = keeps === true ? undefined : false;
        continue;
      }
      keeps = true;
    }
    if (end.type === 'job-done' && end.again && !stop.aborted) {
      greeted = Promise.resolve({ type: 'greeted', socket: end.again, requested: true });
      kept = true;
    } else if (end.type === 'job-done' && options.loop && !stop.aborted) greeted = next;
    else {
      discard(next);
      if (end.type === 'job-done') end.again?.destroy();
    }
    if (end.type === 'lost' && (end.error as WorkerError).code === E.SERVER_ENDED_JOB) {
      // Not a network failure: the job's end was the server's decision (logged with the job); ask for the next.
      backoff.reset();
      if (!options.loop) return 1;
      continue;
    }
    switch (end.type) {
      case 'job-done':
        backoff.reset();
        if (!options.loop) return 0;
        continue;
      case 'stopped':
        return 0;
      case 'not-kept':
        continue;
      case 'lost':
      case 'unreachable': {
        const what = end.type === 'unreachable' ? `cannot reach ${options.host}:${options.port}` : 'connection lost';
        if (!options.loop) {
          log(`${what}: ${end.error.message}`);
          return 1;
        }
        // A server that was answering and went away (a restart) is retried from the shortest delay again.
        if (end.type === 'lost' && end.greeted) backoff.reset();
        const wait = backoff.next();
        log(`${what}: ${end.error.message}; retrying in ${wait} ms`);
        await sleep(clock, wait, stop);
        continue;
      }
    }
  }
}

function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  return present.length === 0 ? new AbortController().signal : AbortSignal.any(present);
}
