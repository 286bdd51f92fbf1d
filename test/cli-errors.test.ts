// The error paths of the client commands as real processes: the server unreachable (one line naming the
// address and the cause, exit 1), a server that hangs up, bad command lines (one line, exit 2), --help,
// --version on every command and program name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CLIENT_ALIAS, runCli, startProc, startServerProcess } from './helpers/cli-process.ts';

const COMMANDS: [string, string[]][] = [
  ['schedule', ['n', 'p', new URL(import.meta.url).pathname]],
  ['orb-build', ['n', 'pkg']],
  ['unschedule', ['n']],
  ['reschedule', ['n', '2030-01-01T00:00:00Z']],
  ['execute', ['n']],
  ['info', []],
  ['observe', ['00000000-0000-4000-8000-000000000000']],
  ['observe-latest', []],
  ['drop-platform', ['p']],
  ['undrop-platform', ['p']],
  ['history', ['n']],
];

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('server unreachable: every command prints one line naming the address and the cause, exit 1', { timeout: 30_000 }, async () => {
  const port = await closedPort();
  const results = await Promise.all(COMMANDS.map(([cmd, args]) => runCli([cmd, ...args, '-r', `127.0.0.1:${port}`])));
  results.forEach((r, i) => {
    const cmd = COMMANDS[i]![0];
    assert.equal(r.status, 1, `${cmd}: ${r.stderr}`);
    assert.equal(r.stderr, `builder ${cmd}: cannot reach the builder server at 127.0.0.1:${port}: connection refused (is the server running?)\n`);
    assert.equal(r.stdout, '');
  });
  const viaEnv = await runCli(['info'], { env: { BUILDER_REMOTE: `127.0.0.1:${port}` } });
  assert.equal(viaEnv.status, 1);
  assert.match(viaEnv.stderr, new RegExp(`at 127\\.0\\.0\\.1:${port}: connection refused`));
  const v6 = await runCli(['info', '-r', `[::1]:${port}`]);
  assert.equal(v6.status, 1);
  assert.match(v6.stderr, new RegExp(`^builder info: cannot reach the builder server at \\[::1\\]:${port}: `));
  assert.equal(v6.stderr.split('\n').length, 2);
  const json = await runCli(['info', '--json', '-r', `127.0.0.1:${port}`]);
  assert.equal(json.status, 1);
  assert.equal(JSON.parse(json.stdout).error.code, 'ERR_CLIENT_UNREACHABLE');
});

test('an unknown host name: one line, exit 1', { timeout: 30_000 }, async () => {
  const r = await runCli(['info', '-r', 'no-such-host.invalid:1234']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^builder info: cannot reach the builder server at no-such-host\.invalid:1234: (no such host|the host name could not be resolved)\n$/);
});

test('a server that hangs up after the hello (another protocol version): one line, exit 1', { timeout: 30_000 }, async () => {
  const server = net.createServer((s) => s.once('data', () => s.destroy()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const r = await runCli(['info', '-r', `127.0.0.1:${port}`]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`^builder info: the server at 127\\.0\\.0\\.1:${port} closed the connection after the hello \\(another protocol version\\?\\)\\n$`));
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('bad command lines print the reason in one line pointing to --help, exit 2', { timeout: 30_000 }, async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'builder-cli-usage-'));
  const file = path.join(dir, 's.sh');
  await writeFile(file, 'true\n');
  try {
    const cases: [string[], RegExp][] = [
      [['schedule', 'n', 'p'], /missing FILE/],
      [['schedule', 'n', 'p', file, 'extra'], /too many arguments/],
      [['schedule', 'n', 'p', file, '--period', 'monthly'], /--period: "monthly" is not one of hourly, daily, weekly, never/],
      [['schedule', 'n', 'p', file, '--period', 'daily', '--cron', '* * * * *'], /either --period or --cron/],
      [['schedule', 'n', 'p', file, '--tz', 'Europe/Berlin'], /--tz only goes with --cron/],
      [['schedule', 'n', 'p', file, '--cron', '0 3 * * *', '--tz', 'Mars/Olympus'], /unknown time zone/],
      [['schedule', 'n', 'p', file, '--timeout', 'soon'], /--timeout: not a positive duration/],
      [['schedule', 'n', 'p', file, '--catch-up', 'some'], /--catch-up/],
      [['schedule', 'n', 'p', file, '--bogus'], /unknown option --bogus/],
      [['info', '-r'], /--remote needs a value/],
      [['reschedule', 'n', 'tomorrow'], /NEXT: not an RFC 3339 time/],
      [['reschedule', 'n', '2030-13-01T00:00:00Z'], /NEXT: not an RFC 3339 time/],
      [['observe', 'not-a-uuid'], /UUID: not a UUID/],
      [['observe-latest', '--interval', '0'], /--interval/],
      [['history', 'n', '--limit', '-1'], /--limit/],
      [['info', '-r', 'host:99999'], /--remote: .*port out of range/],
      [['info', '-r', '::1:1234'], /--remote: .*brackets/],
      [['info', '--color', 'sometimes'], /--color/],
      [['info', 'extra'], /too many arguments \(expected no arguments\)/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args)));
    results.forEach((r, i) => {
      const [args, reason] = cases[i]!;
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, reason, args.join(' '));
      // one line, the usage only on request
      assert.equal(r.stderr.split('\n').length, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(r.stderr.endsWith(` (see builder ${args[0]} --help)\n`), r.stderr);
    });
    const env = await runCli(['info'], { env: { BUILDER_REMOTE: 'host:notaport' } });
    assert.equal(env.status, 2);
    assert.match(env.stderr, /BUILDER_REMOTE: .*bad port/);
    const unknown = await runCli(['frobnicate'], { bin: CLIENT_ALIAS });
    assert.equal(unknown.status, 2);
    assert.equal(unknown.stderr, "builder-client: unknown command 'frobnicate' (see builder-client --help)\n");
    const unknownMain = await runCli(['frobnicate']);
    assert.equal(unknownMain.status, 2);
    assert.equal(unknownMain.stderr, "builder: unknown command 'frobnicate' (see builder --help)\n");
    const none = await runCli([], { bin: CLIENT_ALIAS });
    assert.equal(none.status, 2);
    assert.match(none.stderr, /missing command/);
    const missingFile = await runCli(['schedule', 'n', 'p', path.join(dir, 'nope.sh'), '-r', '127.0.0.1:1']);
    assert.equal(missingFile.status, 1);
    assert.equal(missingFile.stderr, `builder schedule: cannot read the script ${path.join(dir, 'nope.sh')}: no such file\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('--help on every command lists its arguments, defaults and valid values', { timeout: 30_000 }, async () => {
  const results = await Promise.all(COMMANDS.map(([cmd]) => runCli([cmd, '--help'])));
  results.forEach((r, i) => {
    const cmd = COMMANDS[i]![0];
    assert.equal(r.status, 0, cmd);
    assert.match(r.stdout, new RegExp(`^usage: builder ${cmd}`), cmd);
    for (const text of ['-r, --remote HOST:PORT', 'default 127.0.0.1:1234', 'BUILDER_REMOTE', '--json', 'one of auto, always, never; default auto', 'Exit status']) {
      assert.ok(r.stdout.includes(text), `${cmd} --help lacks ${text}`);
    }
  });
  const schedule = results[0]!.stdout;
  for (const text of ['NAME', 'PLATFORM', 'FILE', '--period PERIOD', 'hourly, daily, weekly or never', 'default daily', '--cron EXPR', '--tz ZONE', '--timeout DURATION', '--catch-up POLICY']) {
    assert.ok(schedule.includes(text), `schedule --help lacks ${text}`);
  }
  assert.match(results[10]!.stdout, /--limit N\s+show at most N runs \(default 20\)/);
  assert.match(results[7]!.stdout, /--follow/);
  const list = await runCli(['--help'], { bin: CLIENT_ALIAS });
  assert.equal(list.status, 0);
  for (const [cmd] of COMMANDS) assert.ok(list.stdout.includes(`  ${cmd} `), cmd);
});

test('observe of an unknown uuid and observe-latest with nothing running against a real server', { timeout: 30_000 }, async () => {
  const server = await startServerProcess();
  try {
    const r = await runCli(['observe', '00000000-0000-4000-8000-000000000000', '-r', server.remote]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'builder observe: uuid not found\n');
    const latest = await runCli(['observe-latest', '--job', 'x', '-r', server.remote]);
    assert.equal(latest.status, 1);
    assert.equal(latest.stderr, 'builder observe-latest: No running jobs of job x\n');
  } finally {
    await server.close();
  }
});

test('-r pointed at a port that is not a builder server (HTTP, SSH, silence then close): one line saying so, exit 1', { timeout: 30_000 }, async () => {
  const http = (await import('node:http')).createServer((_req, res) => res.end('hello'));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const ssh = net.createServer((s) => s.end('SSH-2.0-OpenSSH_9.2\r\n'));
  await new Promise<void>((r) => ssh.listen(0, '127.0.0.1', r));
  const binary = net.createServer((s) => s.end(Buffer.from([0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0xf8, 0xf7])));
  await new Promise<void>((r) => binary.listen(0, '127.0.0.1', r));
  const port = (s: net.Server) => (s.address() as net.AddressInfo).port;
  const sockets: net.Socket[] = [];
  for (const s of [http, ssh, binary]) s.on('connection', (c: net.Socket) => sockets.push(c));
  try {
    const h = await runCli(['info', '-r', `127.0.0.1:${port(http)}`]);
    assert.equal(h.status, 1);
    assert.equal(h.stderr, `builder info: 127.0.0.1:${port(http)} is not a builder server: it answered "HTTP/1.1 400 Bad Request"\n`);
    const s = await runCli(['schedule', 'n', 'p', new URL(import.meta.url).pathname, '-r', `127.0.0.1:${port(ssh)}`]);
    assert.equal(s.status, 1);
    assert.equal(s.stderr, `builder schedule: 127.0.0.1:${port(ssh)} is not a builder server: it answered "SSH-2.0-OpenSSH_9.2"\n`);
    const b = await runCli(['info', '--json', '-r', `127.0.0.1:${port(binary)}`]);
    assert.equal(b.status, 1);
    assert.equal(b.stderr, `builder info: 127.0.0.1:${port(binary)} is not a builder server: its answer is not the builder protocol\n`);
    assert.equal(JSON.parse(b.stdout).error.code, 'ERR_CLIENT_NOT_BUILDER');
    // a worker (one job, no loop) says it the same way, and no frame-size error before it
    const w = await runCli(['worker', 'x', '-r', `127.0.0.1:${port(http)}`]);
    assert.equal(w.status, 1);
    const lines = w.stderr.split('\n').filter((l) => !/taking one job|SIGTERM/.test(l) && l !== '');
    assert.deepEqual(lines, [`builder-worker: connection lost: 127.0.0.1:${port(http)} is not a builder server: it answered "HTTP/1.1 400 Bad Request"`]);
  } finally {
    for (const s of [http, ssh, binary]) {
      const closed = new Promise<void>((r) => s.close(() => r()));
      for (const c of sockets) c.destroy();
      await closed;
    }
  }
});

test('--version prints the version, on builder and on the original program names', { timeout: 30_000 }, async () => {
  const { version } = JSON.parse(await (await import('node:fs/promises')).readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  for (const [args, bin] of [[['--version'], undefined], [['--version'], CLIENT_ALIAS]] as const) {
    const r = await runCli([...args], bin ? { bin } : {});
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `builder ${version} (protocol: client 13, worker 5)\n`);
  }
});

test('the daemons and tools too: a bad command line is one line pointing to --help, exit 2, the usage only on request', { timeout: 60_000 }, async () => {
  const cases: [string[], string][] = [
    [['server', '--bogus'], 'server: unknown option --bogus'],
    [['server', '--port'], 'server: --port needs a value'],
    [['server', '--port', 'eighty'], 'server: --port: not a port number: eighty'],
    [['worker'], 'worker: expected exactly one PLATFORM'],
    [['worker', 'p', '--sandbox', 'nope'], "worker: unknown sandbox 'nope' (one of process, bwrap, docker)"],
    [['worker', 'p', '--timeout', 'x'], 'worker: --timeout: expected a positive number, got "x"'],
    [['run', 'extra'], "run: unexpected argument 'extra' (this command takes no arguments)"],
    [['run', '--help=yes'], 'run: --help takes no value'],
    [['web', '--bogus'], 'web: unknown option --bogus'],
    [['user'], 'user: missing COMMAND (one of add, update, remove, disable, enable, list)'],
    [['user', 'frob'], "user: unknown command 'frob' (one of add, update, remove, disable, enable, list)"],
    [['user', 'add'], 'user: add needs a user NAME'],
    [['access', 'add', 'bob'], 'access: add needs USER and JOB'],
    [['vacuum', 'frob'], 'vacuum: a policy and one argument'],
    [['inspect', '--machine', 'nope'], 'inspect: --machine: "nope" is not one of job, worker, supervisor'],
    [['inspect', '--state'], 'inspect: --state needs a value'],
  ];
  const results = await Promise.all(cases.map(([args]) => runCli(args)));
  results.forEach((r, i) => {
    const [args, text] = cases[i]!;
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '', args.join(' '));
    assert.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
    assert.ok(r.stderr.startsWith(`builder ${text} (see builder ${args[0]} `), r.stderr);
    assert.match(r.stderr, / --help\)\n$/);
  });
});

test('--version works on every program name and after every command', { timeout: 60_000 }, async () => {
  const bin = (name: string) => new URL(`../bin/${name}.mjs`, import.meta.url).pathname;
  const runs: [string[], string?][] = [
    [['--version']],
    ...['server', 'worker', 'run', 'web', 'inspect', 'user', 'access', 'vacuum', ...COMMANDS.map(([c]) => c)].map((c): [string[]] => [[c, '--version']]),
    ...['builder-server', 'builder-worker', 'builder-client', 'builder-inspect'].map((b): [string[], string] => [['--version'], bin(b)]),
    [['info', '--version'], CLIENT_ALIAS],
  ];
  const results = await Promise.all(runs.map(([args, b]) => runCli(args, b ? { bin: b } : {})));
  results.forEach((r, i) => {
    assert.equal(r.status, 0, `${runs[i]![1] ?? 'builder'} ${runs[i]![0].join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /^builder \d+\.\d+\.\d+ \(protocol: client 13, worker 5\)\n$/);
  });
});

test('a server listening beyond loopback says in its log that nothing there is authenticated; on loopback it does not', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'builder-cli-open-'));
  try {
    const open = startProc(['server', '--ip', '0.0.0.0', '--port', '0', '--no-web', '--9p', '0.0.0.0:0', '--dir', path.join(dir, 'a')]);
    await open.waitFor(/WARN\s+the builder port \(0\.0\.0\.0:\d+\) and 9P \(0\.0\.0\.0:0\) listen beyond loopback with no authentication: .*docs\/SECURITY\.md/, 'stderr');
    assert.equal((await open.stop('SIGTERM')).status, 0);
    const closed = startProc(['server', '--port', '0', '--no-web', '--no-9p', '--dir', path.join(dir, 'b')]);
    await closed.waitFor(/server:listening/, 'stderr');
    assert.equal((await closed.stop('SIGTERM')).status, 0);
    assert.doesNotMatch(closed.stderr, /authentication/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a reader that goes away (builder ... | head, a missing command after the pipe) ends the command quietly', { timeout: 30_000 }, async () => {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [new URL('../bin/builder.mjs', import.meta.url).pathname, 'inspect', '--machine', 'supervisor', '--format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy(); // the reading end is closed before the command writes
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  assert.equal(stderr, '');
  assert.equal(status, 0);
});
