// Runs a job as a local process tree (the process and bwrap sandboxes): spawned detached so it leads its own
// process group, console from stdout as lines, the status marker (job-shell.ts) and any runner message from stderr,
// the whole tree killed on timeout, on abort and once the job's shell has exited (nothing outlives a job).
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { SandboxError } from '../src/errors/sandbox-error.ts';
import { constants } from 'node:os';
import { systemClock, type Clock } from '../src/scheduler/clock.ts';
import { LineSplitter, DEFAULT_MAX_LINE_BYTES } from '../src/worker/line-splitter.ts';
import { exitCodeWithoutMarker, parseStatusMarker, type MarkedOutcome } from './job-shell.ts';
import { killTree, pipeIdsOf } from './process-tree.ts';
import type { JobHold } from './job-containment.ts';
import type { OnLine, RunOutcome } from './sandbox.ts';

export interface SpawnPlan {
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** True when the spawned program becomes the job's script itself (job-shell.ts directArgv), so Node's exit is its own. */
  directChild: boolean;
  /** What holds the tree (job-containment.ts); without one, the /proc scan of process-tree.ts finds it. */
  hold?: Pick<JobHold, 'killAll' | 'release'>;
  /** Told once the spawned process has exited. */
  onEnded?: () => void;
  /** Started ahead (prestart, or the job launcher): `go` lets it run instead of spawning. */
  started?: { child: ChildLike; go(): void };
}

/** What runSpawned needs of the job's first process: a ChildProcess, or a job of the launcher (job-launcher.ts). */
export interface ChildLike extends EventEmitter {
  readonly pid?: number;
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  /** The signal's number where it is known exactly (a launcher's job): Node names no real-time signal. */
  readonly signalNumber?: number;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
}

/** Spawns a plan's gated argv ahead of its job (it waits for "go" on its stdin; see JobHold.gatedArgv). */
export function spawnGated(argv: string[], cwd: string, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(argv[0]!, argv.slice(1), { cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  child.on('error', () => undefined);
  child.stdin!.on('error', () => undefined);
  return child;
}

export interface SpawnRunOptions {
  clock?: Clock;
  maxLineBytes?: number;
  /** How long to wait for the console to drain after the tree was killed. */
  drainMs?: number;
}

export function runSpawned(
  plan: SpawnPlan,
  timeoutMs: number,
  onLine: OnLine,
  signal: AbortSignal,
  options: SpawnRunOptions = {},
  timer?: { mark(phase: string): void },
): Promise<RunOutcome> {
  const clock = options.clock ?? systemClock;
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  if (signal.aborted) return Promise.resolve({ type: 'aborted', reason: reasonText(signal.reason) });

  return new Promise<RunOutcome>((resolve) => {
    const child: ChildLike =
      plan.started?.child ??
      spawn(plan.argv[0]!, plan.argv.slice(1), {
        cwd: plan.cwd,
        env: plan.env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    plan.started?.go();
    // A launcher's job has its pid once forked, after its go: a kill that comes first waits for it.
    let leader = child.pid;
    let killPending = false;
    if (leader === undefined)
      child.once('spawn', () => {
        leader = child.pid;
        if (killPending) kill();
      });
    timer?.mark('spawn');
    const pipeIds = leader === undefined || plan.hold ? new Set<string>() : pipeIdsOf(leader);
    let stopped: { type: 'timeout' } | { type: 'aborted'; reason: string } | undefined;
    let marker: MarkedOutcome | undefined;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let spawnError: Error | undefined;
    let settled = false;
    let streamsOpen = 2;

    const console = new LineSplitter(onLine, maxLineBytes);
    const status = new LineSplitter((line) => {
      const marked = parseStatusMarker(line);
      if (marked === undefined) onLine(line);
      else marker = marked;
    }, maxLineBytes);
    child.stdout!.on('data', (chunk: Buffer) => console.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => status.push(chunk));
    const streamDone = () => {
      if (--streamsOpen === 0) finish();
    };
    child.stdout!.on('close', streamDone);
    child.stderr!.on('close', streamDone);

    const kill = (leaderReaped = false) => {
      if (leader === undefined) {
        killPending = true;
        return;
      }
      if (!plan.hold?.killAll(leader, leaderReaped)) killTree(leader, pipeIds);
    };
    const deadline = clock.setTimeout(() => {
      stopped ??= { type: 'timeout' };
      kill();
    }, timeoutMs);
    const onAbort = () => {
      stopped ??= { type: 'aborted', reason: reasonText(signal.reason) };
      kill();
    };
    signal.addEventListener('abort', onAbort, { once: true });

    let drainTimer: ReturnType<typeof setTimeout> | undefined;
    child.on('exit', (code, sig) => {
      exit = { code, signal: sig };
      timer?.mark('job');
      // Whatever the job left running in the background goes with it.
      kill(true);
      timer?.mark('reap');
      plan.onEnded?.();
      // A process that escaped the tree may still hold the console open: stop waiting for it after a while.
      drainTimer = setTimeout(() => {
        child.stdout!.destroy();
        child.stderr!.destroy();
      }, options.drainMs ?? 2000);
      drainTimer.unref();
      if (streamsOpen === 0) finish();
    });
    child.on('error', (err) => {
      spawnError = err;
      // No process was started: the streams may never close on their own.
      if (leader === undefined) finish();
    });

    function finish(): void {
      if (settled) return;
      if (!exit && !spawnError) return;
      settled = true;
      timer?.mark('drain');
      clock.clearTimeout(deadline);
      if (drainTimer) clearTimeout(drainTimer);
      signal.removeEventListener('abort', onAbort);
      console.end();
      status.end();
      const result = outcome();
      if (plan.hold) void plan.hold.release().then(() => resolve(result));
      else resolve(result);
    }

    function outcome(): RunOutcome {
      if (stopped) return stopped;
      if (spawnError && !exit) return { type: 'failed', message: `cannot start ${plan.argv[0]}: ${spawnError.message}` };
      // The script's own status, read by the wrapper inside the runner.
      if (marker !== undefined) return marker;
      if (exit?.signal) {
        const number = child.signalNumber ?? constants.signals[exit.signal] ?? 0;
        // The script itself when it is our child, else the runner (bwrap) that holds it.
        return { type: 'signalled', signal: number };
      }
      const code = exit?.code ?? 0;
      return plan.directChild ? { type: 'exited', code } : exitCodeWithoutMarker(code);
    }
  });
}

export function reasonText(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  if (typeof reason === 'string') return reason;
  return 'stopped';
}

/** Runs a command to completion; rejects with ERR_SANDBOX_SPAWN and what it printed when it fails. */
export function probe(argv: string[], what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), { timeout: 30_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const detail = String(stderr).trim() || err.message;
      reject(new SandboxError('ERR_SANDBOX_SPAWN', `${what}: ${detail}`));
    });
  });
}
