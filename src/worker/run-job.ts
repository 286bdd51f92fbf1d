// One job from start to end on this machine: a private directory holding nothing but script.sh (mode 0500), executed
// there by the sandbox as the original worker does (its shebang honoured, see sandbox/job-shell.ts), the console
// streamed, the artifacts collected after a normal exit, and the directory removed whatever happened, or (a looping
// worker, JobDirs) kept for the next job when the job left it exactly as it was given.
import { closeSync, constants as fsConstants, ftruncateSync, lstatSync, mkdtempSync, openSync, readdirSync, rmdirSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
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
  /** A looping worker's directories (with dir): the job's is kept for the next job instead of removed where it may be. */
  dirs?: JobDirs;
}

/**
 * The job directories of a looping worker. Making a directory and script.sh for each job and removing both after was
 * a tenth of a short job's worker CPU: on ext4 (without a journal) each new inode is found by skipping every inode
 * freed in the last half minute, which this churn itself fills, and rmdir then waits on the disk. A directory the job
 * left exactly as it was given (script.sh alone in it, a regular file of ours with one link and mode 0500; the
 * directory ours with mode 0700) is kept for the next job: the next script is written over the last one, in the same
 * inode. Anything else (artifacts, a file or mode changed) and it is removed as before and the next one is new.
 */
export class JobDirs {
  private spare: string | undefined;
  /** The directory handed out last that holds the script of a previous job. */
  private reusedDir: string | undefined;
  private readonly uid = process.getuid?.();

  /** The spare directory if there is one, else a new one. */
  take(tmpRoot: string | undefined): string {
    const dir = this.spare;
    this.spare = undefined;
    this.reusedDir = dir;
    return dir ?? makeJobDir(tmpRoot);
  }

  /** Whether dir holds a previous job's script.sh (written over by runJob). */
  reused(dir: string): boolean {
    return dir === this.reusedDir;
  }

  /** Keeps dir for the next job if the job left it as it was given; false: the caller removes it. */
  keep(dir: string): boolean {
    if (this.spare !== undefined || this.uid === undefined) return false;
    try {
      const names = readdirSync(dir);
      if (names.length !== 1 || names[0] !== SCRIPT_NAME) return false;
      const script = lstatSync(join(dir, SCRIPT_NAME));
      if (!script.isFile() || script.nlink !== 1 || (script.mode & 0o7777) !== 0o500 || script.uid !== this.uid) return false;
      const d = lstatSync(dir);
      if (!d.isDirectory() || (d.mode & 0o7777) !== 0o700 || d.uid !== this.uid) return false;
    } catch {
      return false;
    }
    this.spare = dir;
    return true;
  }

  /** Removes the spare directory (the worker is stopping). */
  async clear(): Promise<void> {
    const dir = this.spare;
    this.spare = undefined;
    if (dir !== undefined) await removeDir(dir);
  }
}

/**
 * A job directory made before the job is known, and the sandbox's first process for it started (Sandbox.prestart):
 * the looping worker does this while it waits for its next job. runJob({ dir }) uses both, or abandonJobDir ends them.
 */
export function prepareJobDir(options: Pick<RunJobOptions, 'sandbox' | 'tmpRoot' | 'network' | 'env' | 'limits' | 'dirs'>): string | undefined {
  if (!options.sandbox.prestart) return undefined;
  const dir = options.dirs ? options.dirs.take(options.tmpRoot) : makeJobDir(options.tmpRoot);
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
  /** The job directory, already removed (or kept by RunJobOptions.dirs for the next job). */
  dir: string;
}

// The directory is made and removed with synchronous calls: the worker runs one job at a time and nothing else
// waits on its event loop then, and a thread-pool round trip per call was a visible part of a short job's cycle.
export async function runJob(job: ScriptJob, options: RunJobOptions): Promise<JobReport> {
  const dir = options.dir ?? makeJobDir(options.tmpRoot);
  // Whether the directory may be kept for the next job: only once the job has run (not after a throw).
  let ran = false;
  try {
    writeScript(dir, job.script, options.dir !== undefined && options.dirs?.reused(dir) === true);
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
    ran = true;
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
    // Never for a later job where something of this one may still run and write there.
    const keep = ran && options.dir !== undefined && !options.sandbox.jobsMayOutlive && options.dirs?.keep(dir) === true;
    if (!keep) await removeDir(dir);
    options.timer?.mark('cleanup');
  }
}

/**
 * script.sh, mode 0500. In a directory kept from a previous job (reused) it is written over the previous script in the
 * same inode (see JobDirs): never through a link (O_NOFOLLOW), never blocking (O_NONBLOCK: not a FIFO's open), cut
 * to the new length. Where that cannot be (not writable by us: a worker not running as root), it is made anew.
 */
function writeScript(dir: string, script: string, reused: boolean): void {
  const path = join(dir, SCRIPT_NAME);
  if (reused) {
    let fd: number | undefined;
    try {
      fd = openSync(path, fsConstants.O_WRONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
    } catch {
      try {
        unlinkSync(path);
      } catch {
        // gone already: made anew below
      }
    }
    if (fd !== undefined) {
      try {
        const bytes = Buffer.from(script);
        for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at, at);
        ftruncateSync(fd, bytes.length);
      } finally {
        closeSync(fd);
      }
      return;
    }
  }
  writeFileSync(path, script, { mode: 0o500, flag: reused ? 'wx' : 'w' });
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
