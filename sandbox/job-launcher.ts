// The process sandbox's job launcher: one small process per worker (compiled from job-launcher.c where the build found a
// C compiler, else the Perl program below: same protocol, same job start), in the network namespace its jobs without
// network share (it is also that namespace's holder: see job-network.ts for why one namespace per worker is safe),
// that forks each job's first process. A fork of the worker's Node process copies the page tables of a large heap
// and costs several ms of CPU in the parent and again in the child's exec; with nsenter and the sh before the script
// that was most of a short job's CPU. The launcher's fork is a fraction of that, and the job starts in the namespace
// already, without nsenter or a shell of ours.
//
// A job is prepared ahead (prestart) as far as its console: a FIFO in a private directory of the worker, made by the
// launcher. At its go the worker opens the FIFO's reading end and asks for the job; only then does the launcher fork
// (the compiled one with vfork: nothing of it is copied, it waits for the exec). The job's first process leads a new
// session, moves itself into its cgroup, takes the job's environment and directory, opens the console for writing
// (stdout and stderr both: one console, in order; stdin is /dev/null) and execs the script (a script without a `#!`
// line through /bin/sh, as sh's exec does). So the script is the launcher's direct child and waitpid gives its own
// status: an exit code and a signal are told apart as with Node's own children.
//
// Protocol (lines): worker → launcher `fifo ID PATH`, `run ID PROCS DIR FIFO SCRIPT ENV` (each field "x" + hex; ENV
// is NAME=VALUE\0...); launcher → worker `ready`, `fifo ID`, `pid ID PID`, `end ID WAITSTATUS`, `fail ID MESSAGE-HEX`.
// When its stdin closes (the worker is gone, even by SIGKILL) it kills what it started, whole cgroups included, removes
// the consoles' directory (its one argument) and exits. A directory whose launcher was killed too (a SIGKILL to every
// process, as a service manager's last resort) is named after its worker's pid, and the next worker's first launcher
// removes it once that pid no longer runs.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { accessSync, constants as fsConstants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { netNamespace } from './job-network.ts';
import { leftByGoneWorkers } from './pid-alive.ts';

const LAUNCHER = String.raw`
use strict; use warnings; use POSIX (); use Fcntl qw(O_WRONLY O_NONBLOCK F_SETFL);
pipe(my $wr, my $ww) or die "pipe: $!";
fcntl($_, F_SETFL, O_NONBLOCK) for $wr, $ww;
$SIG{CHLD} = sub { syswrite($ww, 'x') };
my (%job, %cg, $buf);
$buf = '';
sub say_ { my $s = shift; my $o = 0; while ($o < length $s) { my $n = syswrite(STDOUT, $s, length($s) - $o, $o); if (!defined $n) { next if $!{EINTR}; exit 1 } $o += $n } }
sub unhex { my $f = shift; return pack('H*', substr($f, 1)) }
sub child {
  my ($procs, $dir, $fifo, $script, $env) = @_;
  $SIG{CHLD} = 'DEFAULT';
  POSIX::setsid();
  my $err;
  if (length $procs) {
    if (open(my $p, '>', $procs)) { $err = "cannot join $procs: $!" unless (syswrite($p, "$$\n") && close($p)) }
    else { $err = "cannot open $procs: $!" }
  }
  %ENV = ();
  for (split /\0/, $env) { my ($k, $v) = split /=/, $_, 2; $ENV{$k} = $v if defined $v }
  $ENV{PWD} = $dir unless exists $ENV{PWD};
  open(STDIN, '<', '/dev/null') or POSIX::_exit(125);
  sysopen(my $out, $fifo, O_WRONLY | O_NONBLOCK) or POSIX::_exit(125);
  fcntl($out, F_SETFL, 0) or POSIX::_exit(125);
  unlink $fifo;
  open(STDOUT, '>&', $out) or POSIX::_exit(125);
  open(STDERR, '>&', $out) or POSIX::_exit(125);
  close $out;
  if (defined $err) { print STDERR "$err\n"; POSIX::_exit(125) }
  unless (chdir $dir) { print STDERR "cannot enter $dir: $!\n"; POSIX::_exit(125) }
  exec { "./$script" } "./$script";
  exec { '/bin/sh' } '/bin/sh', "./$script" if $!{ENOEXEC};
  my $enoent = $!{ENOENT};
  print STDERR "/bin/sh: 1: exec: ./$script: " . ($enoent ? 'not found' : "$!") . "\n";
  POSIX::_exit($enoent ? 127 : 126);
}
sub kill_all {
  for my $pid (keys %job) {
    kill 'KILL', -$pid, $pid;
    my $procs = $cg{$pid};
    next unless length $procs;
    (my $kill = $procs) =~ s{cgroup\.procs$}{cgroup.kill};
    if (open(my $k, '>', $kill)) { syswrite($k, "1"); close($k) }
  }
}
sub remove_dir {
  my $d = shift;
  return unless defined $d;
  if (opendir(my $h, $d)) { unlink map { "$d/$_" } grep { !/^\.\.?$/ } readdir $h; closedir $h }
  rmdir $d;
}
sub command {
  my ($cmd, $id, @f) = split / /, shift;
  return unless defined $cmd;
  if ($cmd eq 'fifo' && @f == 1) {
    my $fifo = unhex($f[0]);
    if (POSIX::mkfifo($fifo, 0600)) { say_("fifo $id\n") } else { say_("fail $id " . unpack('H*', "cannot make $fifo: $!") . "\n") }
    return;
  }
  return unless $cmd eq 'run' && @f == 5;
  my ($procs, $dir, $fifo, $script, $env) = map { unhex($_) } @f;
  my $pid = fork;
  if (!defined $pid) { my $e = "$!"; unlink $fifo; say_("fail $id " . unpack('H*', "cannot fork: $e") . "\n"); return }
  child($procs, $dir, $fifo, $script, $env) if $pid == 0;
  $job{$pid} = $id;
  $cg{$pid} = $procs;
  say_("pid $id $pid\n");
}
say_("ready\n");
while (1) {
  while ((my $pid = waitpid(-1, POSIX::WNOHANG())) > 0) {
    my $id = delete $job{$pid};
    delete $cg{$pid};
    say_("end $id $?\n") if defined $id;
  }
  my $rin = '';
  vec($rin, fileno(STDIN), 1) = 1;
  vec($rin, fileno($wr), 1) = 1;
  # Perl runs the SIGCHLD handler between ops, not inside the signal: one that lands just before select blocks writes
  # its byte only after select returns. The timeout bounds that wait (the handler's byte is the usual wake-up).
  my $n = select(my $rout = $rin, undef, undef, 0.1);
  next if $n <= 0;
  if (vec($rout, fileno($wr), 1)) { 1 while sysread($wr, my $x, 64) }
  next unless vec($rout, fileno(STDIN), 1);
  my $r = sysread(STDIN, $buf, 65536, length $buf);
  if (!defined $r) { next if $!{EINTR} || $!{EAGAIN} }
  if (!$r) { kill_all(); remove_dir($ARGV[0]); exit 0 }
  command($1) while $buf =~ s/^([^\n]*)\n//;
}
`;

export interface LaunchSpec {
  /** The cgroup.procs file the job's first process moves itself into ('' for none). */
  procs: string;
  dir: string;
  script: string;
  env: NodeJS.ProcessEnv;
}

/**
 * A job of the launcher, shaped as much like a ChildProcess as runSpawned (spawn-runner.ts) needs: 'spawn' once forked
 * (pid set), 'exit' (code, signal) and 'error'. Prepared ahead as far as its console (`prepared`); `go()` opens the
 * console and has the launcher fork it, so its pid comes after the go.
 */
export class LaunchedJob extends EventEmitter {
  pid: number | undefined;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  /** The number of the signal that ended it, read from the wait status (Node knows no name for some). */
  signalNumber: number | undefined;
  stdout: Readable | null = null;
  /** The console is the one stream: stdout and stderr of the job are the same FIFO. */
  readonly stderr: Readable = Readable.from([]);
  readonly stdin = null;
  /** Resolves once the launcher made the job's console, or rejects with why it could not. */
  readonly prepared: Promise<void>;
  private settlePrepared!: { resolve: () => void; reject: (e: Error) => void };
  private state: 'preparing' | 'waiting' | 'asked' | 'forked' | 'done' = 'preparing';
  /** A kill that came between the go and the fork: carried out once the pid is known. */
  private killPending = false;

  constructor(
    readonly fifo: string,
    private readonly launcher: {
      /** Asks the launcher to fork the job (its `run` line); false when the launcher is gone. */
      ask(): boolean;
      /** The job will not run: the launcher forgets it. */
      forget(): void;
    },
  ) {
    super();
    this.prepared = new Promise<void>((resolve, reject) => (this.settlePrepared = { resolve, reject }));
    this.prepared.catch(() => undefined);
    // as for a ChildProcess, 'error' is for whoever runs the job; a prepared one nobody listens to yet must not throw
    this.on('error', () => undefined);
  }

  /** Prepared, not yet let go, and its launcher not gone: it may still run a job. */
  get waiting(): boolean {
    return this.state === 'waiting';
  }

  /** Opens the console's reading end, then has the launcher fork the job (which opens the writing end). */
  go(): void {
    if (this.state !== 'waiting') return;
    this.state = 'asked';
    try {
      const fd = openSync(this.fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
      this.stdout = new Socket({ fd, readable: true, writable: false });
    } catch (err) {
      this.stdout = Readable.from([]);
      return this.failed(new Error(`cannot open the job's console ${this.fifo}: ${(err as Error).message}`));
    }
    if (!this.launcher.ask()) this.failed(new Error('the job launcher ended'));
  }

  /** SIGKILL to the job's group and to its first process itself (not yet reaped: its pid is its own). */
  kill(): void {
    if (this.state === 'asked') this.killPending = true;
    if (this.state !== 'forked') return;
    for (const target of [-this.pid!, this.pid!]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }

  /** Removes the console's FIFO if no job opened it: a prepared job ended without its go. */
  discard(): void {
    if (this.state === 'preparing' || this.state === 'waiting') {
      this.state = 'done';
      this.launcher.forget();
    }
    rmSync(this.fifo, { force: true });
  }

  /** @internal */
  madeConsole(): void {
    if (this.state !== 'preparing') return;
    this.state = 'waiting';
    this.settlePrepared.resolve();
  }

  /** @internal */
  forked(pid: number): void {
    if (this.state !== 'asked') return;
    this.pid = pid;
    this.state = 'forked';
    this.emit('spawn');
    if (this.killPending) this.kill();
  }

  /** @internal */
  ended(status: number): void {
    this.state = 'done';
    const signal = status & 0x7f;
    if (signal !== 0) {
      this.signalNumber = signal;
      this.signalCode = signalName(signal);
    } else this.exitCode = (status >> 8) & 0xff;
    this.emit('exit', this.exitCode, this.signalCode);
  }

  /** @internal */
  failed(error: Error): void {
    // never forked: nothing will open or close the console's other end
    if (this.pid === undefined) this.stdout?.destroy();
    this.state = 'done';
    this.settlePrepared.reject(error);
    this.emit('error', error);
  }
}

/** The signal's name; one Node has no name for (the real-time ones) gets a made-up one: signalNumber is the truth. */
function signalName(n: number): NodeJS.Signals {
  for (const [name, value] of Object.entries(osConstants.signals)) if (value === n) return name as NodeJS.Signals;
  return `SIG${n}` as NodeJS.Signals;
}

const hex = (s: string): string => `x${Buffer.from(s).toString('hex')}`;

/** The last environment sent and its hex (a worker's jobs mostly share one). */
let lastEnv = { text: '', hex: hex('') };
function envHex(text: string): string {
  if (lastEnv.text !== text) lastEnv = { text, hex: hex(text) };
  return lastEnv.hex;
}

const DIR_PREFIX = 'builder-launcher-';
let staleRemoved = false;

/**
 * Consoles' directories of workers that no longer run, whose launchers were killed before they could remove them; once
 * per process. One that cannot be removed stays: it never keeps this worker's launcher from starting.
 */
function removeStaleDirs(parent: string): void {
  if (staleRemoved) return;
  staleRemoved = true;
  for (const name of leftByGoneWorkers(parent, /^builder-launcher-(\d+)-/)) {
    try {
      rmSync(join(parent, name), { recursive: true, force: true });
    } catch {
      // not ours to remove after all (another user's), or busy
    }
  }
}

/**
 * Where the consoles' FIFOs go: TMPDIR when set, else /dev/shm (tmpfs: making and removing a FIFO there touches no
 * disk, where on ext4 each new inode is searched for among those freed lately), else the system's temporary directory.
 */
function fifoParent(): string {
  if (process.env.TMPDIR) return tmpdir();
  try {
    accessSync('/dev/shm', fsConstants.W_OK | fsConstants.X_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

export type LauncherKind = 'compiled' | 'perl';

/** Where scripts/build.mjs puts the compiled launcher (absent where no C compiler was found). */
const COMPILED = fileURLToPath(new URL('../dist/job-launcher', import.meta.url));

/** Whether perl is here to be the launcher (checked once). */
let perlFound: boolean | undefined;
function havePerl(): boolean {
  perlFound ??= spawnSync('perl', ['-MPOSIX', '-e', '1'], { stdio: 'ignore' }).status === 0;
  return perlFound;
}

function compiledFound(): boolean {
  try {
    accessSync(COMPILED, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The launcher's argv (after `unshare --net`): the compiled one unless perl is asked for; undefined where neither is here. */
function launcherArgv(kind: LauncherKind | undefined): string[] | undefined {
  if (kind !== 'perl' && compiledFound()) return [COMPILED];
  if (kind !== 'compiled' && havePerl()) return ['perl', '-e', LAUNCHER];
  return undefined;
}

export class JobLauncher {
  private process: ChildProcess | undefined;
  private starting: Promise<boolean> | undefined;
  /** The jobs of the current launcher process (each process has its own map: a dead one's exit fails only its own). */
  private jobs = new Map<string, LaunchedJob>();
  private fifoDir: string | undefined;
  private nextId = 0;
  /** Which launcher this is: the compiled one where built, else perl (unless one is asked for). */
  constructor(private readonly kind?: LauncherKind) {}

  /** Starts the launcher in a network namespace of its own (once); resolves false where it cannot run here. */
  start(): Promise<boolean> {
    if (this.running()) return Promise.resolve(true);
    this.starting ??= this.spawnLauncher().finally(() => (this.starting = undefined));
    return this.starting;
  }

  running(): boolean {
    const p = this.process;
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  /** Prepares a job (its console); it is forked at its `go()`. Needs start() to have resolved true. */
  launch(spec: LaunchSpec): LaunchedJob {
    const id = String(this.nextId++);
    const fifo = join(this.fifoDir ?? tmpdir(), `console-${id}`);
    const launcher = this.process;
    const env = Object.entries(spec.env)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${v}`)
      .join('\0');
    const run = `run ${id} ${hex(spec.procs)} ${hex(spec.dir)} ${hex(fifo)} ${hex(spec.script)} ${envHex(env)}\n`;
    const job = new LaunchedJob(fifo, {
      ask: () => {
        if (this.process !== launcher || !this.running()) return false;
        this.ref();
        launcher!.stdin!.write(run);
        return true;
      },
      forget: () => {
        if (this.jobs.get(id) !== job) return;
        this.jobs.delete(id);
        this.unrefWhenIdle();
      },
    });
    if (!this.running() || this.fifoDir === undefined) {
      queueMicrotask(() => job.failed(new Error('the job launcher is not running')));
      return job;
    }
    this.jobs.set(id, job);
    this.ref();
    launcher!.stdin!.write(`fifo ${id} ${hex(fifo)}\n`);
    return job;
  }

  stop(): void {
    // the launcher's own clean-up runs only when its stdin closes: its jobs are killed here
    for (const job of this.jobs.values()) job.kill();
    this.process?.kill('SIGKILL');
    this.process = undefined;
    if (this.fifoDir) rmSync(this.fifoDir, { recursive: true, force: true });
    this.fifoDir = undefined;
  }

  private ref(): void {
    (this.process?.stdout as Socket | undefined)?.ref();
  }

  private unrefWhenIdle(): void {
    if (this.jobs.size === 0) (this.process?.stdout as Socket | undefined)?.unref();
  }

  private spawnLauncher(): Promise<boolean> {
    this.stop();
    const argv = launcherArgv(this.kind);
    if (argv === undefined) return Promise.resolve(false);
    const own = netNamespace('self');
    if (own === undefined) return Promise.resolve(false);
    let fifoDir: string;
    const parent = fifoParent();
    removeStaleDirs(parent);
    try {
      fifoDir = this.fifoDir = mkdtempSync(join(parent, `${DIR_PREFIX}${process.pid}-`));
    } catch {
      return Promise.resolve(false);
    }
    const jobs = new Map<string, LaunchedJob>();
    this.jobs = jobs;
    let buffer = '';
    return new Promise<boolean>((resolve) => {
      // Detached (a process group of its own): a SIGKILL to the worker's group (a supervisor, a test) leaves it alive to
      // see its stdin end, kill the jobs and remove its directory; it exits then.
      const child = spawn('unshare', ['--net', ...argv, fifoDir], {
        stdio: ['pipe', 'pipe', 'ignore'],
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
        detached: true,
      });
      let ready = false;
      const fail = (): void => {
        child.kill('SIGKILL');
        resolve(false);
      };
      child.once('error', fail);
      child.stdin!.on('error', () => undefined);
      child.once('exit', () => {
        if (this.process === child) this.process = undefined;
        for (const [id, job] of jobs) {
          jobs.delete(id);
          job.kill();
          job.failed(new Error('the job launcher ended'));
        }
        if (!ready) resolve(false);
      });
      child.stdout!.setEncoding('latin1');
      child.stdout!.on('data', (chunk: string) => {
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line === 'ready') {
            const link = child.pid === undefined ? undefined : netNamespace(child.pid);
            if (link === undefined || link === own) return fail();
            ready = true;
            this.process = child;
            // The launcher must not keep the worker's event loop alive when no job is out.
            child.unref();
            (child.stdin as unknown as Socket).unref();
            (child.stdout as unknown as Socket).unref();
            resolve(true);
          } else this.onLine(jobs, line);
        }
      });
    });
  }

  private onLine(jobs: Map<string, LaunchedJob>, line: string): void {
    const [what, id, arg] = line.split(' ');
    const job = jobs.get(id!);
    // the console of a job forgotten before the launcher made it
    if (!job && what === 'fifo' && this.fifoDir) rmSync(join(this.fifoDir, `console-${id}`), { force: true });
    if (!job) return;
    if (what === 'fifo') job.madeConsole();
    else if (what === 'pid') job.forked(Number(arg));
    else if (what === 'end') {
      jobs.delete(id!);
      this.unrefWhenIdle();
      job.ended(Number(arg));
    } else if (what === 'fail') {
      jobs.delete(id!);
      this.unrefWhenIdle();
      job.failed(new Error(Buffer.from(arg ?? '', 'hex').toString()));
    }
  }
}

