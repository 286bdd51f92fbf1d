// The docs as a newcomer types them: every shell command of README.md and docs/*.md (docs/BENCHMARKS.md
// and docs/WEB.md are checked by their own tests) is listed below as run here, run by another test, or
// not runnable on a CI machine (then its syntax and the names it refers to are checked). The runnable ones
// run as printed against real processes: `builder run` (what `npm start` starts) and the README's
// `builder server` and bwrap worker, with `builder` on PATH through `npm link` into a temporary prefix.
// The only changes made to a command: the default ports become free ones (BUILDER_REMOTE, `-s` of the
// diod tools), /var/lib/builder and /etc/builder become temporary directories, and `<uuid>` a real uuid.
// Also: the observe example's time format, the printed `--help` references, docs/INTEROP.md's matrix
// (no empty cell, each names an existing test) and the DER examples of docs/PROTOCOL-EXTENSIONS.md.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeCmd } from '../src/protocol/cmd-codec.ts';
import type { Cmd } from '../src/protocol/types.ts';
import { NinepClient } from '../src/ninep/client.ts';
import { BIN, eventually, Proc, startProc } from './helpers/cli-process.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CHECKED_ELSEWHERE = ['docs/BENCHMARKS.md', 'docs/WEB.md'];
const DOCS = ['README.md', ...readdirSync(path.join(REPO, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)].filter((f) => !CHECKED_ELSEWHERE.includes(f));
const read = (file: string) => readFileSync(path.join(REPO, file), 'utf8');

/** A comment starts at a `#` after white space, outside quotes. */
function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i).trimEnd();
  }
  return line.trimEnd();
}

/** The commands of the ```sh blocks of a markdown text, continuation lines joined, comments removed. */
export function shellCommands(markdown: string): string[] {
  const out: string[] = [];
  let inSh = false;
  let fenced = false;
  let pending = '';
  for (const raw of markdown.split('\n')) {
    const fence = /^\s*```(\S*)/.exec(raw);
    if (fence) {
      if (fenced) fenced = inSh = false;
      else {
        fenced = true;
        inSh = fence[1] === 'sh';
      }
      continue;
    }
    if (!inSh) continue;
    const line = stripComment(raw).trim();
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1).trim() + ' ';
      continue;
    }
    const command = (pending + line).trim();
    pending = '';
    if (command) out.push(command);
  }
  return out;
}

type How = { here: string } | { elsewhere: string } | { untested: string; check: () => void };

const file = (p: string) => () => assert.ok(existsSync(path.join(REPO, p)), `${p} exists`);
const contains = (p: string, text: string) => () => assert.ok(read(p).includes(text), `${p} mentions ${text}`);
const bashSyntax = (script: string) => () => {
  const r = spawnSync('bash', ['-n', script], { cwd: REPO, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
};

/** Every shell command of the docs, and how it is checked. A new command in the docs must be added here. */
const COMMANDS: Record<string, How> = {
  'npm install && npm start': { elsewhere: 'test/first-run.test.ts: a clone with this node_modules, npm run prepare, builder run (here too)' },
  'bash .ci/run': { untested: 'CI itself (installs system packages, then the whole suite): bash -n here', check: bashSyntax('.ci/run') },
  'npm link': { here: 'into a temporary npm prefix' },
  'builder server --dir /var/lib/builder --config-dir /etc/builder': { here: 'temporary directories, free ports' },
  'builder worker debian-12 --sandbox bwrap --loop': { here: 'BUILDER_REMOTE of the server above' },
  'builder schedule albatross debian-12 build.sh --period daily': { here: '' },
  'builder info': { here: '' },
  'builder history albatross': { here: '' },
  'builder observe <uuid>': { here: '' },
  'echo \'echo "my first job"\' > my-job.sh': { here: 'against builder run' },
  './bin/builder.mjs schedule my-job local my-job.sh': { here: '' },
  './bin/builder.mjs info': { here: '' },
  './bin/builder.mjs observe <uuid>': { here: '' },
  './bin/builder.mjs history my-job': { here: '' },
  'diodls -s 127.0.0.1:5640 /jobs': { here: 'against builder run' },
  'diodcat -s 127.0.0.1:5640 /jobs/hello/log': { here: '' },
  'mkdir -p /mnt/jobs': { untested: 'the kernel here has no 9p file system: the same steps through our 9P client (9P2000.u) here', check: () => undefined },
  'mount -t 9p -o trans=tcp,port=5640,version=9p2000.u 127.0.0.1 /mnt/jobs': { untested: 'no 9p in this kernel', check: bashSyntax('/dev/null') },
  "echo 'nightly:0 3 * * *:make -C /src all' > /mnt/jobs/clone": { untested: 'through our 9P client below', check: () => undefined },
  'echo start > /mnt/jobs/jobs/nightly/ctl': { untested: 'through our 9P client below', check: () => undefined },
  'cat /mnt/jobs/jobs/nightly/schedule': { untested: 'through our 9P client below', check: () => undefined },
  'cat /mnt/jobs/jobs/nightly/log': { untested: 'through our 9P client below', check: () => undefined },
  'rmdir /mnt/jobs/jobs/nightly': { untested: 'through our 9P client below (Tremove of the directory)', check: () => undefined },
  'umount /mnt/jobs': { untested: 'no 9p in this kernel', check: () => undefined },
  'docker build -f deploy/Dockerfile -t registry.example/builder:debian-12 .': {
    untested: "needs Docker Hub's node image; test/swarm-fleet.test.ts builds the same image from an imported base (test/swarm/assemble-image.sh)",
    check: file('deploy/Dockerfile'),
  },
  'docker build -f deploy/Dockerfile --build-arg NODE_IMAGE=node:20-bullseye-slim -t registry.example/builder:debian-11 .': {
    untested: "needs Docker Hub's node image",
    check: contains('deploy/Dockerfile', 'ARG NODE_IMAGE='),
  },
  'docker push registry.example/builder:debian-12 && docker push registry.example/builder:debian-11': { untested: 'no registry here', check: () => undefined },
  'docker node update --label-add builder.data=true NODE': { elsewhere: 'test/swarm-fleet.test.ts labels its node the same way' },
  'BUILDER_IMAGE=registry.example/builder:debian-12 BUILDER_IMAGE_DEBIAN_11=registry.example/builder:debian-11 docker stack deploy -c deploy/swarm/stack.yml builder': {
    elsewhere: 'test/swarm-fleet.test.ts deploys deploy/swarm/stack.yml with BUILDER_IMAGE* set to its own images, under its own stack name',
  },
  'docker run --rm --network builder_builder registry.example/builder:debian-12 info -r server:1234': {
    untested: 'the swarm test reaches the server through its published port instead; the network is attachable and named builder',
    check: () => assert.match(read('deploy/swarm/stack.yml'), /^networks:\n {2}builder:\n {4}driver: overlay\n {4}attachable: true/m),
  },
  'kubectl apply -f deploy/kubernetes/': { untested: 'no cluster: test/deploy-kubernetes.test.ts validates the manifests offline', check: file('deploy/kubernetes/server.yaml') },
  'kubectl scale deployment builder-worker-debian-12 --replicas=10': { untested: 'no cluster', check: contains('deploy/kubernetes/workers.yaml', 'name: builder-worker-debian-12') },
  'kubectl exec statefulset/builder-server -- node /app/bin/builder.mjs info': {
    untested: 'no cluster',
    check: () => {
      contains('deploy/kubernetes/server.yaml', 'name: builder-server')();
      contains('deploy/Dockerfile', '"/app/bin/builder.mjs"')();
    },
  },
  'ssh -N -L 1234:127.0.0.1:1234 builder@buildhost': { untested: 'no SSH host here', check: () => undefined },
  'git clone REPOSITORY-URL /opt/builder && cd /opt/builder && npm install && npm link': {
    untested: 'an install as root; test/first-run.test.ts clones and builds, npm link runs here',
    check: () => assert.deepEqual(Object.keys(JSON.parse(read('package.json')).bin).sort(), ['builder', 'builder-client', 'builder-inspect', 'builder-server', 'builder-worker']),
  },
  'useradd --system --home-dir /var/lib/builder --shell /usr/sbin/nologin builder': { untested: 'would add a user to the test machine', check: contains('linux/builder.service', 'User=builder') },
  'cp linux/builder.service linux/builder-worker@.service /etc/systemd/system/': { untested: 'no systemd running here', check: file('linux/builder-worker@.service') },
  'systemctl daemon-reload && systemctl enable --now builder builder-worker@debian-12': { untested: 'no systemd running here: systemd-analyze verify', check: verifyUnits },
};

/** systemd-analyze verify of both units (where it is installed), their commands pointed at bin/ of this checkout. */
function verifyUnits(): void {
  if (spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).error) return;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'builder-units-'));
  try {
    for (const unit of ['builder.service', 'builder-worker@.service']) {
      const text = read(`linux/${unit}`).replace(/\/usr\/local\/bin\/(builder-\w+)/g, (_m, name: string) => path.join(REPO, 'bin', `${name}.mjs`));
      writeFileSync(path.join(dir, unit.replace('@.', '@debian-12.')), text);
    }
    const r = spawnSync('systemd-analyze', ['verify', './builder.service', './builder-worker@debian-12.service'], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr + r.stdout, '', 'systemd-analyze verify complains');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('every shell command in the docs is run here, run by another test, or says why it cannot run here', () => {
  const found = new Map<string, string>();
  for (const f of DOCS) for (const c of shellCommands(read(f))) found.set(c, f);
  const unknown = [...found].filter(([c]) => !(c in COMMANDS)).map(([c, f]) => `${f}: ${c}`);
  assert.deepEqual(unknown, [], 'commands in the docs this test does not know: add them to COMMANDS');
  const stale = Object.keys(COMMANDS).filter((c) => !found.has(c));
  assert.deepEqual(stale, [], 'commands listed here that are in no doc any more');
  for (const how of Object.values(COMMANDS)) if ('untested' in how) how.check();
  for (const elsewhere of ['test/first-run.test.ts', 'test/swarm-fleet.test.ts', 'test/deploy-kubernetes.test.ts', 'test/swarm/assemble-image.sh']) file(elsewhere)();
  // what cannot be tried here says so in the docs
  assert.match(read('docs/DEPLOY.md'), /## Kubernetes \(not tested on a live cluster\)/);
  assert.match(read('docs/NINEP-NAMESPACE.md'), /not tried by the tests/);
});

// ---------------------------------------------------------------------------------------------------

let home: string;
let run: Proc;
let remote: string;
let ninepPort: number;
let dataDir: string;
const procs: Proc[] = [];

/** PATH without a `builder` on it, as after `npm install` */
const plainPath = () => process.env.PATH!.split(':').filter((d) => !existsSync(path.join(d, 'builder'))).join(':');

function sh(command: string, cwd: string, env: Record<string, string> = {}): SpawnSyncReturns<string> {
  const e: NodeJS.ProcessEnv = { ...process.env, PATH: plainPath(), ...env };
  delete e.NO_COLOR;
  delete e.FORCE_COLOR;
  if (!env.BUILDER_REMOTE) delete e.BUILDER_REMOTE;
  return spawnSync('bash', ['-c', command], { cwd, env: e, encoding: 'utf8', timeout: 60_000 });
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(r.status, 0, `${what}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

before(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'builder-docs-'));
  dataDir = path.join(home, 'data');
  // what `npm start` runs, on free ports (the default ones may be taken on a test machine)
  run = startProc(['run', '--dir', dataDir, '--port', '0', '--web', '127.0.0.1:0', '--9p', '127.0.0.1:0'], { cwd: home });
  remote = `127.0.0.1:${(await run.waitFor(/server on 127\.0\.0\.1:(\d+)/, 'stdout'))[1]}`;
  ninepPort = Number((await run.waitFor(/9P files\s+127\.0\.0\.1:(\d+)/, 'stdout'))[1]);
  await run.waitFor(/^hello finished: exited 0/m, 'stdout', 60_000);
});

after(async () => {
  for (const p of procs) await p.stop('SIGTERM');
  if (run) await run.stop('SIGINT');
  await rm(home, { recursive: true, force: true });
});

test('docs/CLI.md, first run: the second terminal, as printed, in the clone without builder on PATH', { timeout: 60_000 }, async () => {
  const clone = path.join(home, 'clone');
  await mkdir(clone);
  await symlink(path.join(REPO, 'bin'), path.join(clone, 'bin'));
  const block = shellCommands(read('docs/CLI.md').split('## First run')[1]!.split('## Client commands')[0]!).filter((c) => !c.startsWith('npm '));
  assert.equal(block.length, 5);
  const env = { BUILDER_REMOTE: remote };
  for (const c of block) {
    if (c.includes('<uuid>')) {
      const uuid = await eventually(async () => {
        const h = JSON.parse(ok(sh('./bin/builder.mjs history my-job --json', clone, env), 'history')) as { uuid: string }[];
        return h[0]?.uuid;
      }, 'my-job finished', 30_000);
      const out = ok(sh(c.replace('<uuid>', uuid), clone, env), c);
      assert.match(out, /^(\d+\.\d{3}(μs|ms|s)) my first job\n\S+ exited 0\n$/, c);
      continue;
    }
    const out = ok(sh(c, clone, env), c);
    if (c.includes(' schedule ')) assert.equal(out, 'scheduled my-job on local, daily\n');
    if (c.endsWith(' info')) assert.match(out, /^my-job\s+local\s+daily\s/m);
    if (c.includes(' history ')) assert.match(out, /^HISTORY OF my-job\n.*\n[0-9a-f-]{36}\s+local\s+.*exited 0$/m);
  }
});

test("docs/CLI.md, observe output: the times read as documented (our server's whole milliseconds)", { timeout: 30_000 }, async () => {
  const doc = read('docs/CLI.md').split('### observe output')[1]!;
  const example = /```\n([\s\S]*?)```/.exec(doc)![1]!.trimEnd().split('\n');
  const uuid = run.stdout.match(/hello is running on worker \S+ \(run ([0-9a-f-]{36})\)/)![1]!;
  const out = ok(sh(`"${BIN}" observe ${uuid}`, home, { BUILDER_REMOTE: remote }), 'observe');
  const lines = out.trimEnd().split('\n');
  const ocaml = /^(\d+\.\d{3}(μs|ms|s)|\d+m\d\ds|\d+h\d\dm|\d+d\d\dh) /;
  for (const l of [...lines, ...example]) assert.match(l, ocaml, l);
  for (const l of lines) if (/^\d+\.\d{3}ms /.test(l)) assert.match(l, /^\d+\.000ms /, 'whole milliseconds');
  // each line of the example is one of the run's lines, its text the same
  const texts = lines.map((l) => l.replace(ocaml, ''));
  for (const l of example) assert.ok(texts.includes(l.replace(ocaml, '')), `${l} in ${out}`);
});

test('docs/NINEP-NAMESPACE.md: the diod tools as printed against builder run', { timeout: 30_000 }, async (t) => {
  if (spawnSync('diodls', ['--help'], { stdio: 'ignore' }).error) {
    if (process.env.CI) assert.fail('diodls is required under CI (.ci/setup-system.sh installs diod)');
    return t.skip('diod tools not installed');
  }
  const block = shellCommands(read('docs/NINEP-NAMESPACE.md')).filter((c) => c.startsWith('diod'));
  assert.equal(block.length, 2);
  const port = (c: string) => c.replace('127.0.0.1:5640', `127.0.0.1:${ninepPort}`);
  assert.match(ok(sh(port(block[0]!), home), block[0]!), /^hello$/m);
  const log = ok(sh(port(block[1]!), home), block[1]!);
  assert.match(log, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ:hello from builder$/m);
  assert.match(log, /^exited 0$/m);
});

test('docs/NINEP-NAMESPACE.md: the kernel mount example, step by step through our 9P client (9P2000.u)', { timeout: 30_000 }, async () => {
  const steps = shellCommands(read('docs/NINEP-NAMESPACE.md')).filter((c) => c.includes('/mnt/jobs'));
  assert.deepEqual(steps.map((c) => c.split(' ')[0]), ['mkdir', 'mount', 'echo', 'echo', 'cat', 'cat', 'rmdir', 'umount']);
  assert.match(steps[1]!, /version=9p2000\.u/);
  const c = await NinepClient.connect({ host: '127.0.0.1', port: ninepPort, version: '9P2000.u' });
  try {
    const echoed = (cmd: string) => /^echo '?(.*?)'? > \/mnt\/jobs(\/\S+)$/.exec(cmd)!;
    const [, definition, clone] = echoed(steps[2]!);
    await c.writeFile(clone!, `${definition}\n`);
    assert.equal(await c.readText('/jobs/nightly/ctl'), 'stopped\n');
    const [, start, ctl] = echoed(steps[3]!);
    await c.writeFile(ctl!, `${start}\n`);
    const schedule = await c.readText(steps[4]!.replace('cat /mnt/jobs', ''));
    assert.match(schedule, /^0 3 \* \* \*:\d{4}-\d\d-\d\dT03:00:00Z\n$/);
    assert.equal(await c.readText(steps[5]!.replace('cat /mnt/jobs', '')), '', 'empty until its first run');
    await c.removePath(steps[6]!.replace('rmdir /mnt/jobs', ''));
    assert.ok(!(await c.list('/jobs')).includes('nightly'));
  } finally {
    c.close();
  }
});

test('README, running it for real: npm link, then server, bwrap worker, schedule, info, observe as printed', { timeout: 60_000 }, async (t) => {
  const bwrap = spawnSync('bwrap', ['--ro-bind', '/', '/', 'true'], { stdio: 'ignore' });
  if (bwrap.status !== 0) {
    if (process.env.CI) assert.fail('bwrap is required under CI (.ci/setup-system.sh installs bubblewrap)');
    return t.skip('bwrap is not usable here');
  }
  const block = shellCommands(read('README.md').split('## Running it for real')[1]!.split('\n## ')[0]!);
  assert.deepEqual(block.map((c) => c.split(' ').slice(0, 2).join(' ')), ['npm link', 'builder server', 'builder worker', 'builder schedule', 'builder info', 'builder history', 'builder observe']);
  const prefix = path.join(home, 'npm-prefix');
  ok(sh(block[0]!, REPO, { npm_config_prefix: prefix, npm_config_audit: 'false', npm_config_fund: 'false' }), 'npm link');
  const PATH = `${path.join(prefix, 'bin')}:${plainPath()}`;
  assert.equal(spawnSync('bash', ['-c', 'command -v builder'], { env: { PATH }, encoding: 'utf8' }).stdout.trim(), path.join(prefix, 'bin', 'builder'));
  const cwd = path.join(home, 'real');
  await mkdir(cwd);
  const server = block[1]!.replace('/var/lib/builder', path.join(cwd, 'var-lib-builder')).replace('/etc/builder', path.join(cwd, 'etc-builder'));
  const start = (command: string, env: Record<string, string>) => {
    const p = new Proc(spawn('bash', ['-c', `exec ${command}`], { cwd, env: { ...process.env, PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
    procs.push(p);
    return p;
  };
  const s = start(`${server} --port 0 --web 127.0.0.1:0 --9p 127.0.0.1:0`, {});
  const env = { PATH, BUILDER_REMOTE: `127.0.0.1:${(await s.waitFor(/server:listening host=127\.0\.0\.1 port=(\d+)/))[1]}` };
  const w = start(block[2]!, env);
  await w.waitFor(/^builder-worker: taking jobs of debian-12 from 127\.0\.0\.1:\d+; bwrap sandbox;/m, 'stderr');
  await writeFile(path.join(cwd, 'build.sh'), 'echo building albatross\nmkdir -p bin && echo binary > bin/albatross\n');
  assert.equal(ok(sh(block[3]!, cwd, env), block[3]!), 'scheduled albatross on debian-12, daily\n');
  const uuid = await eventually(async () => (JSON.parse(ok(sh('builder history albatross --json', cwd, env), 'history')) as { uuid: string }[])[0]?.uuid, 'albatross ran', 30_000);
  assert.match(ok(sh(block[4]!, cwd, env), block[4]!), /^albatross\s+debian-12\s+daily\s.*exited 0/m);
  assert.match(ok(sh(block[5]!, cwd, env), block[5]!), new RegExp(`^${uuid}\\s+debian-12\\s+.*exited 0$`, 'm'));
  assert.match(ok(sh(block[6]!.replace('<uuid>', uuid), cwd, env), block[6]!), /^\S+ building albatross\n\S+ exited 0\n$/);
});

test('the commands --help texts and the docs point to exist and print their help', { timeout: 30_000 }, async () => {
  const env = { BUILDER_REMOTE: remote };
  const inspectHelp = ok(sh(`"${BIN}" inspect --help`, home, env), 'inspect --help');
  const pointed = [...inspectHelp.matchAll(/builder (inspect --\w+ \S+ --help)/g)].map((m) => m[1]!);
  assert.deepEqual(pointed, ['inspect --state DIR --help', 'inspect --machine job --help']);
  const top = ok(sh(`"${BIN}" --help`, home, env), '--help');
  const listed = [...top.matchAll(/^(?:daemons|clients|tools):\s+(.*)$/gm)].flatMap((m) => m[1]!.replace(/ \([^)]*\)/g, '').split(', ').map((c) => c.split(' ')[0]!));
  assert.equal(listed.length, 19, top);
  for (const args of [...pointed.map((p) => p.replace('DIR', dataDir)), ...listed.map((c) => `${c} --help`)]) {
    const out = ok(sh(`"${BIN}" ${args}`, home, env), args);
    assert.match(out, /^usage: builder /, args);
  }
  // the web frontend's tools as docs/CLI.md shows them
  const web = path.join(home, 'web');
  for (const args of [`user --dir=${web} add alice --password=s3cret --unrestricted`, `user --dir=${web} add bob --password=pw`, `access --dir=${web} add bob hello`]) ok(sh(`"${BIN}" ${args}`, home), args);
  assert.equal(ok(sh(`"${BIN}" user --dir=${web} list`, home), 'user list'), 'alice\tunrestricted\nbob\trestricted\taccess: hello\n');
  assert.match(ok(sh(`"${BIN}" vacuum --dir=${dataDir} --job=hello --dry-run except-latest 1`, home), 'vacuum'), /^0 builds to remove\n$/m);
  assert.match(ok(sh(`"${BIN}" inspect --state ${dataDir}`, home), 'inspect --state'), /^WORKER CONNECTIONS \(1\)$/m);
});

test('docs/INTEROP.md: no empty cell, and each cell names a test that exists', () => {
  const doc = read('docs/INTEROP.md');
  const files = readdirSync(path.join(REPO, 'test')).filter((f) => /^interop-.*\.test\.ts$/.test(f));
  const names = (f: string) => [...read(`test/${f}`).matchAll(/^\s*test\(\s*(['"`])(.*?)\1/gm)].map((m) => m[2]!.replace(/\\'/g, "'"));
  const interopNames = files.flatMap(names);
  let rows = 0;
  for (const section of ['## Client commands', '## Workers', '## Files and uploads']) {
    const table = doc.split(section)[1]!.split('\n## ')[0]!.split('\n').filter((l) => l.startsWith('|')).slice(2);
    assert.ok(table.length >= 3, section);
    for (const row of table) {
      rows++;
      const cells = row.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
      assert.equal(cells.length, 3, row);
      assert.ok(cells.every((c) => c.length > 0), `empty cell: ${row}`);
      for (const cell of cells.slice(1)) {
        const cited = [...cell.matchAll(/\*([^*]+)\*/g)].map((m) => m[1]!.replace(/\\\|/g, '|'));
        if (/the original client has no|this is the original client's own output/.test(cell)) continue; // no such command on that side
        assert.ok(cited.length > 0, `no test named: ${cell}`);
        const other = /`(test\/[\w.-]+\.test\.ts)`/.exec(cell)?.[1];
        const pool = other ? names(other.slice('test/'.length)) : interopNames;
        for (const c of cited) assert.ok(pool.some((n) => n.startsWith(c.replace(/…$/, ''))), `"${c}" is no test in ${other ?? 'test/interop-*.test.ts'}`);
      }
    }
  }
  assert.ok(rows >= 25);
});

test('docs/PROTOCOL-EXTENSIONS.md: the DER examples are what the codec writes', () => {
  const doc = read('docs/PROTOCOL-EXTENSIONS.md').split('## Examples (DER, hex)')[1]!;
  const block = /```\n([\s\S]*?)```/.exec(doc)![1]!;
  const hexes = block.split(/\n(?=\S)/).map((entry) => [...entry.matchAll(/(?<=\s|^)([0-9a-f]{2})(?=\s|$)/g)].map((m) => m[1]).join(''));
  const cmds: Cmd[] = [
    { type: 'history', name: 'a' },
    { type: 'info-extended' },
    { type: 'schedule-extended', schedule: { job: { type: 'orb-build', name: 'x', opamPackage: 'x' }, catchUp: { type: 'skip' } } },
    { type: 'schedule-extended', schedule: { job: { type: 'script', name: 'n', script: 's' }, cron: '0 3 * * *', timeZone: 'UTC', timeoutSeconds: 3600 } },
  ];
  assert.equal(hexes.length, cmds.length);
  cmds.forEach((cmd, i) => assert.equal(Buffer.from(encodeCmd(cmd)).toString('hex'), hexes[i], JSON.stringify(cmd)));
});

test('the files and folders the docs name exist', () => {
  const missing: string[] = [];
  for (const f of DOCS) {
    for (const [, p] of read(f).matchAll(/`((?:src|test|docs|bin|deploy|linux|freebsd|machines|sandbox|bench|examples|scripts|\.ci)\/[\w./@-]*)`/g)) {
      if (!existsSync(path.join(REPO, p!))) missing.push(`${f}: ${p}`);
    }
  }
  assert.deepEqual(missing, []);
});
