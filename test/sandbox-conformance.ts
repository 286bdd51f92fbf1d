// The behaviour every sandbox must show, run against the real thing by test/sandbox-<name>.test.ts.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestClock } from '../src/scheduler/clock.ts';
import type { RunOutcome, RunSpec, Sandbox } from '../sandbox/sandbox.ts';

export interface ConformanceOptions {
  /** A fresh sandbox; the clock drives its timeouts. */
  make(clock: TestClock): Sandbox;
  /** Whether files created in the job directory during the run are visible to the job (bind mounts). */
  liveDirectory: boolean;
  /** Runs `busybox`-style commands: the prefix for nc. */
  nc: string;
  /** The sandbox's leftovers after a run (containers), to prove none remain. */
  leftovers?(sandbox: Sandbox): Promise<string[]>;
  /** Whether a job asked for network can reach 127.0.0.1 of the host. */
  networkReachesHostLoopback: boolean;
  /** Whether the job sees a full userland with /bin/bash and /usr/bin/env (the host's; the busybox image has neither). */
  fullUserland: boolean;
}

export interface RunResult {
  outcome: RunOutcome;
  lines: string[];
  rawLines: Uint8Array[];
  dir: string;
  sandbox: Sandbox;
}

export function jobDir(): string {
  return mkdtempSync(join(tmpdir(), 'builder-sandbox-test-'));
}

export async function runScript(
  options: ConformanceOptions,
  script: string,
  extra: { spec?: Partial<RunSpec>; onLine?: (line: string, ctx: { dir: string; clock: TestClock; abort: AbortController }) => void; keepDir?: boolean } = {},
): Promise<RunResult> {
  const clock = new TestClock();
  const sandbox = options.make(clock);
  const dir = jobDir();
  writeFileSync(join(dir, 'script.sh'), script, { mode: 0o500 });
  const abort = new AbortController();
  const lines: string[] = [];
  const rawLines: Uint8Array[] = [];
  try {
    const outcome = await sandbox.run(
      { dir, script: 'script.sh', timeoutMs: 60_000, network: false, ...extra.spec },
      (line) => {
        rawLines.push(line);
        const text = Buffer.from(line).toString('latin1');
        lines.push(text);
        extra.onLine?.(text, { dir, clock, abort });
      },
      abort.signal,
    );
    return { outcome, lines, rawLines, dir, sandbox };
  } finally {
    if (!extra.keepDir) rmSync(dir, { recursive: true, force: true });
    await sandbox.cleanup?.();
  }
}

/** Processes whose command line is exactly `sleep <n>`, wherever they run (namespaces share the host's /proc). */
export function sleepers(n: number): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'latin1').split('\0').filter(Boolean);
      if (cmdline.length >= 2 && cmdline[cmdline.length - 2]!.endsWith('sleep') && cmdline[cmdline.length - 1] === String(n)) found.push(Number(name));
    } catch {
      // gone
    }
  }
  return found;
}

/** Waits (bounded) until no `sleep <n>` is left; returns those still there. */
export async function sleepersGone(n: number): Promise<number[]> {
  for (let i = 0; i < 100; i++) {
    const left = sleepers(n);
    if (left.length === 0) return left;
    await new Promise((r) => setTimeout(r, 50));
  }
  return sleepers(n);
}

function uniqueSleep(): number {
  return 700_000 + Math.floor(Math.random() * 200_000);
}

async function listen(): Promise<{ server: Server; port: number; connections: () => number }> {
  let count = 0;
  const server = createServer((socket) => {
    count++;
    socket.end('hello from the host\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  return { server, port: address.port, connections: () => count };
}

export function conformance(options: ConformanceOptions): void {
  const noLeftovers = async (t: TestContext, sandbox: Sandbox) => {
    if (options.leftovers) assert.deepEqual(await options.leftovers(sandbox), []);
  };

  test('stdout and stderr merged in order, a last line without newline kept', async () => {
    const r = await runScript(options, 'echo one\necho two >&2\necho three\nprintf "tail"\n');
    assert.deepEqual(r.outcome, { type: 'exited', code: 0 });
    assert.deepEqual(r.lines, ['one', 'two', 'three', 'tail']);
  });

  // Needs a directory shared while the job runs; a copied one (remote docker) streams over the same attach path.
  if (options.liveDirectory) test('lines arrive while the job runs', async () => {
    // The job waits for a file the test creates only once it has seen the first line: a console delivered at
    // the end would leave the job waiting until it is killed.
    const r = await runScript(options, 'echo waiting\nwhile [ ! -e go ]; do sleep 0.02; done\necho released\n', {
      onLine: (line, { dir, clock }) => {
        if (line === 'waiting') writeFileSync(join(dir, 'go'), '');
      },
    });
    assert.deepEqual(r.outcome, { type: 'exited', code: 0 });
    assert.deepEqual(r.lines, ['waiting', 'released']);
  });

  test('bytes of any value, empty lines and very long lines', async () => {
    const r = await runScript(options, "printf '\\377\\000\\r\\n\\n'\nhead -c 200000 /dev/zero | tr '\\0' 'a'\necho\n");
    assert.deepEqual(r.outcome, { type: 'exited', code: 0 });
    assert.deepEqual(Buffer.from(r.rawLines[0]!), Buffer.from([0xff, 0x00, 0x0d]));
    assert.equal(r.rawLines[1]!.length, 0);
    const long = r.rawLines.slice(2);
    assert.equal(long.reduce((n, l) => n + l.length, 0), 200_000);
    assert.ok(long.length > 1, 'a long line is cut into pieces');
    assert.ok(long.every((l) => l.every((b) => b === 0x61)));
  });

  test('exit codes, 128+N included, are exits', async () => {
    const cases = [['exit 0', 0], ['exit 3', 3], ['false', 1], ['exit 255', 255], ['exit 200', 200], ['exit 130', 130], ['exit 137', 137], ['exit 143', 143]] as const;
    for (const [script, code] of cases) {
      const r = await runScript(options, script + '\n');
      assert.deepEqual(r.outcome, { type: 'exited', code }, script);
      assert.deepEqual(r.lines, []);
    }
  });

  // The original runs `/bin/sh -ec "timeout 1h ./script.sh"`: -e is the outer shell's, not the script's.
  test('the script runs without -e unless it sets it', async () => {
    const plain = await runScript(options, 'false\necho after\n');
    assert.deepEqual(plain.outcome, { type: 'exited', code: 0 });
    assert.deepEqual(plain.lines, ['after']);
    const strict = await runScript(options, 'set -e\nfalse\necho not reached\n');
    assert.deepEqual(strict.outcome, { type: 'exited', code: 1 });
    assert.deepEqual(strict.lines, []);
  });

  test('the script is executed, not sourced: its shebang chooses the interpreter', async () => {
    const noShebang = await runScript(options, 'echo "$0"\n');
    assert.deepEqual(noShebang.outcome, { type: 'exited', code: 0 });
    assert.deepEqual(noShebang.lines, ['./script.sh']);
    const sh = await runScript(options, '#!/bin/sh\necho "sh $0"\nexit 4\n');
    assert.deepEqual(sh.outcome, { type: 'exited', code: 4 });
    assert.deepEqual(sh.lines, ['sh ./script.sh']);
    if (options.fullUserland) {
      const env = await runScript(options, '#!/usr/bin/env sh\necho via env\n');
      assert.deepEqual(env.outcome, { type: 'exited', code: 0 });
      assert.deepEqual(env.lines, ['via env']);
    }
    const shE = await runScript(options, '#!/bin/sh -e\nfalse\necho not reached\n');
    assert.deepEqual(shE.outcome, { type: 'exited', code: 1 });
    assert.deepEqual(shE.lines, []);
    // Not a shell at all: cat prints the script.
    const cat = await runScript(options, '#!/bin/cat\nline two\n');
    assert.deepEqual(cat.outcome, { type: 'exited', code: 0 });
    assert.deepEqual(cat.lines, ['#!/bin/cat', 'line two']);
  });

  if (options.fullUserland) test('a #!/bin/bash script may use bash-isms', async () => {
    const r = await runScript(options, '#!/bin/bash\na=(x y z)\nif [[ ${a[1]} == y && -n $BASH_VERSION ]]; then echo "bash ${#a[@]}"; fi\nkill -TERM $$\n');
    assert.deepEqual(r.outcome, { type: 'signalled', signal: 15 });
    assert.deepEqual(r.lines, ['bash 3']);
  });

  test('a job killed by a signal is reported as signalled', async () => {
    for (const [sig, n] of [['TERM', 15], ['KILL', 9], ['INT', 2], ['HUP', 1], ['USR1', 10]] as const) {
      const r = await runScript(options, `echo before\nkill -${sig} $$\necho after\n`);
      assert.deepEqual(r.outcome, { type: 'signalled', signal: n }, sig);
      assert.deepEqual(r.lines, ['before']);
    }
  });

  test('timeout kills the whole process tree', async (t) => {
    const n = uniqueSleep();
    const r = await runScript(options, `sleep ${n} &\n(sleep ${n}; echo no) &\necho started\nsleep ${n}\n`, {
      spec: { timeoutMs: 5000 },
      onLine: (line, { clock }) => {
        if (line === 'started') clock.advance(5000);
      },
    });
    assert.deepEqual(r.outcome, { type: 'timeout' });
    assert.deepEqual(await sleepersGone(n), []);
    await noLeftovers(t, r.sandbox);
  });

  test('abort (the server lost) kills the whole process tree', async (t) => {
    const n = uniqueSleep();
    const r = await runScript(options, `sleep ${n} &\necho started\nsleep ${n}\n`, {
      onLine: (line, { abort }) => {
        if (line === 'started') abort.abort(new Error('server lost'));
      },
    });
    assert.deepEqual(r.outcome, { type: 'aborted', reason: 'server lost' });
    assert.deepEqual(await sleepersGone(n), []);
    await noLeftovers(t, r.sandbox);
  });

  test('nothing outlives a job that exited normally', async (t) => {
    const n = uniqueSleep();
    const r = await runScript(options, `sleep ${n} &\necho done\n`);
    assert.deepEqual(r.outcome, { type: 'exited', code: 0 });
    assert.deepEqual(r.lines, ['done']);
    assert.deepEqual(await sleepersGone(n), []);
    await noLeftovers(t, r.sandbox);
  });

  test('files written by the job are byte for byte in the directory', async () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const printf = Array.from(all, (b) => '\\' + b.toString(8).padStart(3, '0')).join('');
    const r = await runScript(options, `printf '${printf}' > all.bin\nmkdir -p sub/deeper\nprintf 'x' > sub/deeper/x.txt\n`, { keepDir: true });
    try {
      assert.deepEqual(r.outcome, { type: 'exited', code: 0 });
      assert.deepEqual(readFileSync(join(r.dir, 'all.bin')), all);
      assert.equal(readFileSync(join(r.dir, 'sub/deeper/x.txt'), 'latin1'), 'x');
    } finally {
      rmSync(r.dir, { recursive: true, force: true });
    }
  });

  test('no network unless asked', async () => {
    const { server, port, connections } = await listen();
    try {
      const probe = `if ${options.nc} 127.0.0.1 ${port} </dev/null; then echo reached; else echo unreachable; fi\n`;
      const denied = await runScript(options, probe);
      assert.deepEqual(denied.outcome, { type: 'exited', code: 0 });
      assert.equal(connections(), 0);
      assert.deepEqual(denied.lines.at(-1), 'unreachable');
      if (options.networkReachesHostLoopback) {
        const allowed = await runScript(options, probe, { spec: { network: true } });
        assert.deepEqual(allowed.outcome, { type: 'exited', code: 0 });
        assert.equal(connections(), 1);
        assert.deepEqual(allowed.lines, ['hello from the host', 'reached']);
      }
    } finally {
      server.close();
    }
  });

  test('an abort before the start runs nothing', async () => {
    const clock = new TestClock();
    const sandbox = options.make(clock);
    const dir = jobDir();
    try {
      writeFileSync(join(dir, 'script.sh'), 'echo ran > ran.txt\n', { mode: 0o500 });
      const abort = new AbortController();
      abort.abort(new Error('worker exiting'));
      const outcome = await sandbox.run({ dir, script: 'script.sh', timeoutMs: 1000, network: false }, () => undefined, abort.signal);
      assert.deepEqual(outcome, { type: 'aborted', reason: 'worker exiting' });
      assert.equal(existsSync(join(dir, 'ran.txt')), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await sandbox.cleanup?.();
    }
  });
}

/**
 * Registers the suite when the system part is there. Under CI a missing part is a failure, never a skip.
 * Elsewhere the tests are skipped with the reason.
 */
export function whenAvailable(what: string, problem: string | undefined, register: () => void): void {
  if (problem === undefined) return register();
  if (process.env.CI) {
    test(`${what} is available (required under CI)`, () => {
      assert.fail(`${what} is not usable: ${problem}`);
    });
    return;
  }
  test(`${what} suite`, { skip: `${what} is not usable here: ${problem}` }, () => undefined);
}
