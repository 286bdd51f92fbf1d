// One job from start to end on this machine: a fresh private directory, script.sh (mode 0500) in it, executed
// there by the sandbox as the original worker does (its shebang honoured, see sandbox/job-shell.ts), the console
// streamed, the artifacts collected after a normal exit, and the directory removed whatever happened.
import { mkdtempSync, rmdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { chmod, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Result, ScriptJob } from '../protocol/types.ts';
import { outcomeKeepsArtifacts, outcomeToResult, type OnLine, type RunOutcome, type Sandbox, type SandboxLimits } from '../../sandbox/sandbox.ts';
import { collectArtifacts, type Artifact } from './collect-artifacts.ts';

export const SCRIPT_NAME = 'script.sh';
export const DEFAULT_TIMEOUT_MS = 60 * 60 * 1000;

export interface RunJobOptions {
  sandbox: Sandbox;
  timeoutMs?: number;
  network?: boolean;
  limits?: SandboxLimits;
  env?: Record<string, string>;
  /** Above this sum of artifact bytes the job fails with a message instead of sending files. */
  maxArtifactBytes?: number;
  /** Where job directories are made (default: the system temporary directory). */
  tmpRoot?: string;
  onLine: OnLine;
  signal: AbortSignal;
  timer?: { mark(phase: string): void };
  /** Told once the job's process has ended (its artifacts not yet collected). */
  onEnded?: () => void;
  /** The job directory, made already by prepareJobDir (with its first process prestarted); else made here. */
  dir?: string;
}

/**
 * A job directory made before the job is known, and the sandbox's first process for it started (Sandbox.prestart):
 * the looping worker does this while it waits for its next job. runJob({ dir }) uses both, or abandonJobDir ends them.
 */
export function prepareJobDir(options: Pick<RunJobOptions, 'sandbox' | 'tmpRoot' | 'network' | 'env' | 'limits'>): string | undefined {
  if (!options.sandbox.prestart) return undefined;
  const dir = makeJobDir(options.tmpRoot);
  options.sandbox.prestart({ dir, script: SCRIPT_NAME, network: options.network ?? false, env: options.env, limits: options.limits });
  return dir;
}

/** The system temporary directory, looked up once: os.tmpdir() reads TMPDIR, TMP and TEMP through a secure getenv
 * that costs six system calls each (getpid, capget, getuid, ...), 18 per job where none is set. */
let systemTmp: string | undefined;

function makeJobDir(tmpRoot: string | undefined): string {
  return mkdtempSync(join(tmpRoot ?? (systemTmp ??= tmpdir()), 'builder-'));
}

export async function abandonJobDir(sandbox: Sandbox, dir: string): Promise<void> {
  await sandbox.cancelPrestart?.(dir);
  await removeDir(dir);
}

export interface JobReport {
  outcome: RunOutcome;
  result: Result;
  files: Artifact[];
  /** The job directory, already removed. */
  dir: string;
}

// The directory is made and removed with synchronous calls: the worker runs one job at a time and nothing else
// waits on its event loop then, and a thread-pool round trip per call was a visible part of a short job's cycle.
export async function runJob(job: ScriptJob, options: RunJobOptions): Promise<JobReport> {
  const dir = options.dir ?? makeJobDir(options.tmpRoot);
  try {
    writeFileSync(join(dir, SCRIPT_NAME), job.script, { mode: 0o500 });
    options.timer?.mark('prepare');
    const outcome = await options.sandbox.run(
      {
        dir,
        script: SCRIPT_NAME,
        timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        network: options.network ?? false,
        env: options.env,
        limits: options.limits,
        timer: options.timer,
        onEnded: options.onEnded,
      },
      options.onLine,
      options.signal,
    );
    if (!outcomeKeepsArtifacts(outcome)) return { outcome, result: outcomeToResult(outcome), files: [], dir };
    const collected = await collectArtifacts(dir, { exclude: SCRIPT_NAME, maxBytes: options.maxArtifactBytes });
    options.timer?.mark('collect');
    if (collected.type === 'too-large') {
      const message = `artifacts too large: ${collected.totalBytes} bytes, more than --max-artifact-bytes ${collected.maxBytes}`;
      return { outcome, result: { type: 'msg', message }, files: [], dir };
    }
    return { outcome, result: outcomeToResult(outcome), files: collected.files, dir };
  } finally {
    // A prestarted process that run() did not take (it threw before): ended with its hold.
    if (options.dir !== undefined) await options.sandbox.cancelPrestart?.(dir);
    await removeDir(dir);
    options.timer?.mark('cleanup');
  }
}

/** rm -rf that also gets through directories the job made unwritable or unreadable. */
export async function removeDir(dir: string): Promise<void> {
  // The usual directory holds the script alone: two calls, where rmSync tries rmdir first and fails, then walks it.
  try {
    unlinkSync(join(dir, SCRIPT_NAME));
    rmdirSync(dir);
    return;
  } catch {
    // something else is in it (artifacts), or the job removed the script: the general way
  }
  try {
    rmSync(dir, { recursive: true, force: true });
    return;
  } catch {
    await openUp(dir);
  }
  await rm(dir, { recursive: true, force: true });
}

async function openUp(dir: string): Promise<void> {
  await chmod(dir, 0o700).catch(() => undefined);
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) if (entry.isDirectory()) await openUp(join(dir, entry.name));
}
