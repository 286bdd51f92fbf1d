// The process sandbox's job launcher: one small Perl process per worker, in the network namespace its jobs without
// network share (it is also that namespace's holder: see job-network.ts for why one namespace per worker is safe),
// that forks each job's first process. A fork of the worker's Node process copies the page tables of a large heap
// and costs several ms of CPU in the parent and again in the child's exec; with nsenter and the sh before the script
// that was most of a short job's CPU. The launcher's fork is a fraction of that, and the job starts in the namespace
// already, without nsenter or a shell of ours.
//
// Each job's first process (the launcher's child) leads a new session, moves itself into its cgroup, sets the job's
// environment and directory, then opens the job's console: a FIFO in a private directory of the worker, for writing.
// That open blocks until the worker opens the reading end, which is how a prestarted job waits for its go. It then
// execs the script (a script without a `#!` line through /bin/sh, as sh's exec does), so the script is the
// launcher's direct child and waitpid gives its own status: an exit code and a signal are told apart as with Node's
// own children. stdout and stderr are both the FIFO (one console, in order); stdin is /dev/null.
//
// Protocol (lines): worker → launcher `run ID PROCS DIR FIFO SCRIPT ENV` (each field "x" + hex; ENV is
// NAME=VALUE\0...); launcher → worker `ready`, `pid ID PID`, `end ID WAITSTATUS`, `fail ID MESSAGE-HEX`.
// When its stdin closes (the worker is gone, even by SIGKILL) it kills what it started, whole cgroups included, and exits.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { constants as fsConstants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { netNamespace } from './job-network.ts';

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
  sysopen(my $out, $fifo, O_WRONLY) or POSIX::_exit(125);
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
sub command {
  my ($cmd, $id, @f) = split / /, shift;
  return unless defined $cmd && $cmd eq 'run' && @f == 5;
  my ($procs, $dir, $fifo, $script, $env) = map { unhex($_) } @f;
  unless (POSIX::mkfifo($fifo, 0600)) { say_("fail $id " . unpack('H*', "cannot make $fifo: $!") . "\n"); return }
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
  if (!$r) { kill_all(); exit 0 }
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
 * A job started by the launcher, shaped as much like a ChildProcess as runSpawned (spawn-runner.ts) needs: its pid
 * once forked (`started`), 'exit' (code, signal) and 'error'. Its console (stdout) exists once `go()` opened it.
 */
export class LaunchedJob extends EventEmitter {
  pid: number | undefined;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  stdout: Readable | null = null;
  /** The console is the one stream: stdout and stderr of the job are the same FIFO. */
  readonly stderr: Readable = Readable.from([]);
  readonly stdin = null;
  /** Resolves once the launcher forked the job (pid set), or rejects with why it could not. */
  readonly started: Promise<void>;
  private settleStart!: { resolve: () => void; reject: (e: Error) => void };

  constructor(readonly fifo: string) {
    super();
    this.started = new Promise<void>((resolve, reject) => (this.settleStart = { resolve, reject }));
    this.started.catch(() => undefined);
    // as for a ChildProcess, 'error' is for whoever runs the job; a prestarted one nobody listens to yet must not throw
    this.on('error', () => undefined);
  }

  /** Opens the console's reading end: the job, waiting to open its writing end, goes on to its script. */
  go(): void {
    if (this.stdout) return;
    try {
      const fd = openSync(this.fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
      this.stdout = new Socket({ fd, readable: true, writable: false });
    } catch {
      // the job died before it opened its console (killed from outside): its 'exit' comes all the same
      this.stdout = Readable.from([]);
    }
  }

  /**
   * SIGKILL to the job's group and to its first process itself: the group (and its place in the cgroup) may not exist
   * yet when the kill comes right after the fork, before the process's setsid. Not yet reaped: its pid is its own.
   */
  kill(): void {
    if (this.pid === undefined || this.exitCode !== null || this.signalCode !== null) return;
    for (const target of [-this.pid, this.pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }

  /** Removes the console's FIFO if the job never opened it (a prestarted job ended without its go). */
  discard(): void {
    rmSync(this.fifo, { force: true });
  }

  /** @internal */
  forked(pid: number): void {
    this.pid = pid;
    this.settleStart.resolve();
  }

  /** @internal */
  ended(status: number): void {
    const signal = status & 0x7f;
    if (signal !== 0) this.signalCode = signalName(signal);
    else this.exitCode = (status >> 8) & 0xff;
    this.emit('exit', this.exitCode, this.signalCode);
  }

  /** @internal */
  failed(error: Error): void {
    this.settleStart.reject(error);
    this.emit('error', error);
  }
}

function signalName(n: number): NodeJS.Signals {
  for (const [name, value] of Object.entries(osConstants.signals)) if (value === n) return name as NodeJS.Signals;
  return 'SIGKILL';
}

const hex = (s: string): string => `x${Buffer.from(s).toString('hex')}`;

/** Whether perl is here to be the launcher (checked once). */
let perlFound: boolean | undefined;
function havePerl(): boolean {
  perlFound ??= spawnSync('perl', ['-MPOSIX', '-e', '1'], { stdio: 'ignore' }).status === 0;
  return perlFound;
}

export class JobLauncher {
  private process: ChildProcess | undefined;
  private starting: Promise<boolean> | undefined;
  /** The jobs of the current launcher process (each process has its own map: a dead one's exit fails only its own). */
  private jobs = new Map<string, LaunchedJob>();
  private fifoDir: string | undefined;
  private nextId = 0;

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

  /** Forks a job's first process; it waits for `go()` before it runs the script. Needs start() to have resolved true. */
  launch(spec: LaunchSpec): LaunchedJob {
    const id = String(this.nextId++);
    const job = new LaunchedJob(join(this.fifoDir ?? tmpdir(), `console-${id}`));
    if (!this.running() || this.fifoDir === undefined) {
      queueMicrotask(() => job.failed(new Error('the job launcher is not running')));
      return job;
    }
    this.jobs.set(id, job);
    this.ref();
    const env = Object.entries(spec.env)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${v}`)
      .join('\0');
    this.process!.stdin!.write(`run ${id} ${hex(spec.procs)} ${hex(spec.dir)} ${hex(job.fifo)} ${hex(spec.script)} ${hex(env)}\n`);
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
    if (!havePerl()) return Promise.resolve(false);
    const own = netNamespace('self');
    if (own === undefined) return Promise.resolve(false);
    try {
      this.fifoDir = mkdtempSync(join(tmpdir(), 'builder-launcher-'));
    } catch {
      return Promise.resolve(false);
    }
    const jobs = new Map<string, LaunchedJob>();
    this.jobs = jobs;
    let buffer = '';
    return new Promise<boolean>((resolve) => {
      const child = spawn('unshare', ['--net', 'perl', '-e', LAUNCHER], {
        stdio: ['pipe', 'pipe', 'ignore'],
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
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
    if (!job) return;
    if (what === 'pid') job.forked(Number(arg));
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

