// The README's first run, as a new user does it, on a fresh clone: `npm start` (= node bin/builder.mjs run)
// starts a server, a local worker and the web page, schedules examples/hello.sh and shows it running; then
// the user schedules a job of their own from a file, watches it with observe, and finds it in info and history.
// `npm install` is replaced by a link to this checkout's node_modules (same lockfile), to stay fast and offline.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually, Proc, runCli, startProc } from './helpers/cli-process.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
let home: string;
let clone: string;
let run: Proc;

before(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'builder-first-run-'));
  clone = path.join(home, 'builder');
  execFileSync('git', ['clone', '--quiet', REPO, clone]);
  await symlink(path.join(REPO, 'node_modules'), path.join(clone, 'node_modules'));
  // what `npm install` runs after installing: the prepare script, which builds dist/
  execFileSync('npm', ['run', '--silent', 'prepare'], { cwd: clone, stdio: 'inherit' });
  assert.ok(existsSync(path.join(clone, 'dist', 'main.js')), 'npm install (prepare) builds dist/');
});

after(async () => {
  if (run && run.child.exitCode === null) await run.stop('SIGKILL');
  await rm(home, { recursive: true, force: true });
});

test('npm start: a server, a worker and the web page; the sample job runs and the next steps are shown', { timeout: 90_000 }, async () => {
  const pkg = JSON.parse(execFileSync('node', ['-p', 'JSON.stringify(require("./package.json").scripts)'], { cwd: clone, encoding: 'utf8' }));
  assert.equal(pkg.start, 'node bin/builder.mjs run', 'the README says npm start is builder run');
  // the default ports (1234, 3000, 5640) may be taken on a test machine: the same command on free ones
  run = startProc(['run', '--port', '0', '--web', '127.0.0.1:0', '--9p', '127.0.0.1:0'], { bin: path.join(clone, 'bin/builder.mjs'), cwd: clone });
  const server = await run.waitFor(/server on 127\.0\.0\.1:(\d+), data in (\S+)/, 'stdout');
  assert.equal(server[2], path.join(clone, 'data'));
  const web = await run.waitFor(/web page\s+(http:\/\/\S+)/, 'stdout');
  await run.waitFor(/^scheduled hello \(.*examples\/hello\.sh\), daily, on platform local\n(waiting for the worker to take hello\.\.\.\n)?hello is running on worker \S+ \(run ([0-9a-f-]{36})\):$/m, 'stdout', 60_000);
  await run.waitFor(/^  \S+ step 3 of 3$/m, 'stdout', 60_000);
  await run.waitFor(/^hello finished: exited 0, result in .*\/data\/hello\/[0-9a-f-]{36}\/full$/m, 'stdout', 60_000);
  await run.waitFor(/Ctrl-C stops the server and the worker\./, 'stdout');
  assert.match(run.stdout, /^  \.\/bin\/builder\.mjs info -r 127\.0\.0\.1:\d+ /m);
  assert.ok(existsSync(path.join(clone, 'data')));
  const page = await fetch(web[1]!);
  assert.equal(page.status, 200);
  const live = await fetch(new URL('/live', web[1]!));
  assert.equal(live.status, 200);
  assert.match(await live.text(), /<a href="\/job\/hello">hello<\/a>/);
  // the finished sample job is a successful build (it has a main binary, bin/hello) on the front page
  const front = await eventually(async () => {
    const text = await (await fetch(web[1]!)).text();
    return text.includes('bin/hello') ? text : undefined;
  }, 'the sample build on the front page', 20_000);
  assert.match(front, /[0-9a-f]{64}/);
});

/** The commands `npm start` told the user to try, as typed: argv split at spaces (none has quotes). */
function printedCommands(): string[][] {
  const block = run.stdout.split(/^Now try, in another terminal in .*:\n/m)[1]!.split(/^\(`npm link`/m)[0]!;
  return block.trimEnd().split('\n').map((line) => line.trim().split(/\s{2,}/)[0]!.split(' '));
}

test('the commands npm start shows work as printed, in the clone, without builder on PATH', { timeout: 90_000 }, async () => {
  assert.match(run.stdout, new RegExp(`^Now try, in another terminal in ${clone.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:$`, 'm'));
  const cmds = printedCommands();
  assert.deepEqual(cmds.map((c) => c.slice(1, 2).join(' ')), ['info', 'history', 'observe-latest', 'execute', 'observe']);
  const [info, history, follow, execute, observe] = cmds as [string[], string[], string[], string[], string[]];
  const env = { PATH: process.env.PATH!.split(':').filter((d) => !existsSync(path.join(d, 'builder'))).join(':') };
  const typed = (argv: string[]) => spawnSync(argv[0]!, argv.slice(1), { cwd: clone, env, encoding: 'utf8' });
  const i = typed(info);
  assert.equal(i.status, 0, i.stderr);
  assert.match(i.stdout, /^hello\s+local\s+daily\s+/m);
  const h = typed(history);
  assert.equal(h.status, 0, h.stderr);
  assert.match(h.stdout, /^[0-9a-f-]{36}\s+local\s+.*exited 0$/m);
  const o = typed(observe);
  assert.equal(o.status, 0, o.stderr);
  assert.match(o.stdout, /step 3 of 3\n(.*\n)*.*exited 0\n$/);
  // observe-latest --follow, then execute: the new run's console shows up in the first one
  const watcher = new Proc(spawn(follow[0]!, follow.slice(1), { cwd: clone, env, stdio: ['ignore', 'pipe', 'pipe'] }));
  await watcher.waitFor(/waiting for the next run/);
  const e = typed(execute);
  assert.equal(e.status, 0, e.stderr);
  await watcher.waitFor(/step 3 of 3\n(.*\n)*.*exited 0\n/, 'stdout', 60_000);
  await watcher.stop('SIGINT');
});

test('then: schedule a job from a file, watch it with observe, see it in info and history', { timeout: 90_000 }, async () => {
  const port = run.stdout.match(/server on 127\.0\.0\.1:(\d+)/)![1]!;
  const remote = ['-r', `127.0.0.1:${port}`];
  const builder = (...args: string[]) => runCli([...args, ...remote], { bin: path.join(clone, 'bin/builder.mjs'), cwd: clone });
  await writeFile(path.join(clone, 'my-job.sh'), 'echo "my first job"\nsleep 1\necho "all done"\n');

  const s = await builder('schedule', 'my-job', 'local', 'my-job.sh');
  assert.equal(s.status, 0, s.stderr);
  assert.equal(s.stdout, 'scheduled my-job on local, daily\n');

  const uuid = await eventually(async () => {
    const i = JSON.parse((await builder('info', '--json')).stdout);
    const running = i.runs.find((r: { name: string; assignedAt: number | null }) => r.name === 'my-job' && r.assignedAt !== null);
    return (running?.uuid ?? i.schedule.find((e: { name: string }) => e.name === 'my-job')?.lastRun?.uuid) as string | undefined;
  }, 'my-job taken by the worker', 60_000);

  const watched = await builder('observe', uuid);
  assert.equal(watched.status, 0, watched.stderr);
  const lines = watched.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^\S+ my first job$/);
  assert.match(lines[1]!, /^\S+ all done$/);
  assert.match(lines[2]!, /^\S+ exited 0$/);

  const info = await builder('info');
  assert.match(info.stdout, /^my-job\s+local\s+daily\s+\d{4}-.*\(in (23h 59m|1d)\)\s+1h\s+exited 0 \((now|\d+s ago)\)$/m);
  assert.match(info.stdout, /^hello\s+local\s+daily\s+/m);
  const history = await builder('history', 'my-job');
  assert.match(history.stdout, new RegExp(`^${uuid}\\s+local\\s+.*exited 0$`, 'm'));
});

test('Ctrl-C stops the server and the worker', { timeout: 90_000 }, async () => {
  const end = await run.stop('SIGINT');
  assert.equal(end.status, 0, run.stderr);
  assert.match(run.stdout, /stopping\.\.\.\n$/);
});
