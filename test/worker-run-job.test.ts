// runJob and collectArtifacts on real files: what is sent, what is not, and that nothing stays behind.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessSandbox } from '../sandbox/process.ts';
import { destroyPool } from '../src/pool/pool.ts';
import { collectArtifacts } from '../src/worker/collect-artifacts.ts';
import { JobDirs, prepareJobDir, runJob } from '../src/worker/run-job.ts';

after(() => destroyPool());

function root(): string {
  return mkdtempSync(join(tmpdir(), 'builder-runjob-test-'));
}

async function run(script: string, extra: { maxArtifactBytes?: number } = {}) {
  const tmpRoot = root();
  const lines: string[] = [];
  try {
    const report = await runJob(
      { type: 'script', name: 't', script, platform: 'test' },
      { sandbox: new ProcessSandbox(), tmpRoot, onLine: (l) => lines.push(Buffer.from(l).toString('latin1')), signal: new AbortController().signal, ...extra },
    );
    return { report, lines, left: readdirSync(tmpRoot) };
  } finally {
    rmSync(tmpRoot, { recursive: true, force: true });
  }
}

test('script.sh has mode 0500 and runs in a fresh directory of its own', async () => {
  const { report, lines, left } = await run('stat -c %a script.sh\nls -A\npwd\n');
  assert.deepEqual(report.result, { type: 'exited', code: 0 });
  assert.equal(lines[0], '500');
  assert.equal(lines[1], 'script.sh');
  assert.equal(lines[2], report.dir);
  assert.deepEqual(report.files, []);
  assert.deepEqual(left, []);
});

test('artifacts: every regular file but the script, binary exact, with SHA-256; symlinks not followed', async () => {
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i));
  const printf = Array.from(all, (b) => '\\' + b.toString(8).padStart(3, '0')).join('');
  const outside = mkdtempSync(join(tmpdir(), 'builder-outside-'));
  writeFileSync(join(outside, 'secret'), 'not an artifact');
  try {
    const { report, left } = await run(
      `printf '${printf}' > z.bin\nmkdir -p a/b\necho deep > a/b/c.txt\n: > empty\nln -s ${outside}/secret leak\nln -s ${outside} leakdir\nmkfifo pipe\n`,
    );
    assert.deepEqual(report.result, { type: 'exited', code: 0 });
    assert.deepEqual(report.files.map((f) => f.path), ['empty', 'z.bin', 'a/b/c.txt']);
    assert.deepEqual(Buffer.from(report.files[1]!.data), all);
    for (const f of report.files) assert.equal(Buffer.from(f.sha256).toString('hex'), createHash('sha256').update(f.data).digest('hex'));
    assert.deepEqual(left, []);
  } finally {
    rmSync(outside, { recursive: true, force: true });
  }
});

test('the job script is executed as the original worker does: its shebang, no -e, exit 128+N an exit', async () => {
  const bash = await run('#!/bin/bash\nnames=(one two)\n[[ ${#names[@]} -eq 2 ]] && printf "%s\\n" "${names[@]}" > names.txt\nfalse\necho after\n');
  assert.deepEqual(bash.report.result, { type: 'exited', code: 0 });
  assert.deepEqual(bash.lines, ['after']);
  assert.deepEqual(bash.report.files.map((f) => [f.path, Buffer.from(f.data).toString()]), [['names.txt', 'one\ntwo\n']]);
  const exited = await run('echo out > out.txt\nexit 130\n');
  assert.deepEqual(exited.report.result, { type: 'exited', code: 130 });
  assert.deepEqual(exited.report.files.map((f) => f.path), ['out.txt']);
  const killed = await run('echo out > out.txt\nkill -9 $$\n');
  assert.deepEqual(killed.report.result, { type: 'signalled', signal: 9 });
  assert.deepEqual(killed.report.files, []);
});

test('--max-artifact-bytes: a clear failure result instead of a silent drop', async () => {
  const { report, left } = await run('head -c 3000 /dev/zero > big\necho small > small\n', { maxArtifactBytes: 1000 });
  assert.equal(report.outcome.type, 'exited');
  assert.deepEqual(report.result, { type: 'msg', message: 'artifacts too large: 3006 bytes, more than --max-artifact-bytes 1000' });
  assert.deepEqual(report.files, []);
  assert.deepEqual(left, []);
  const fits = await run('echo small > small\n', { maxArtifactBytes: 6 });
  assert.deepEqual(fits.report.files.map((f) => f.path), ['small']);
});

test('the directory is removed even when the job locked parts of it', async () => {
  const { report, left } = await run('mkdir -p locked/inner\necho x > locked/inner/f\nchmod 000 locked/inner\nchmod 500 locked\nexit 4\n');
  assert.deepEqual(report.result, { type: 'exited', code: 4 });
  assert.deepEqual(left, []);
});

test('collectArtifacts lists top-level files first, then each directory sorted', async () => {
  const dir = root();
  try {
    mkdirSync(join(dir, 'b/z'), { recursive: true });
    mkdirSync(join(dir, 'a'));
    for (const p of ['script.sh', 'y', 'x', 'b/z/1', 'b/q', 'a/k']) writeFileSync(join(dir, p), p);
    symlinkSync('x', join(dir, 'x-link'));
    const r = await collectArtifacts(dir, { exclude: 'script.sh' });
    assert.equal(r.type, 'ok');
    assert.deepEqual(r.type === 'ok' && r.files.map((f) => f.path), ['x', 'y', 'a/k', 'b/q', 'b/z/1']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// A looping worker keeps a job's directory for the next job when the job left it as it was given (JobDirs).
async function loopJob(dirs: JobDirs, sandbox: ProcessSandbox, tmpRoot: string, script: string) {
  const dir = prepareJobDir({ sandbox, tmpRoot, dirs })!;
  const lines: string[] = [];
  const report = await runJob(
    { type: 'script', name: 't', script, platform: 'test' },
    { sandbox, tmpRoot, dir, dirs, onLine: (l) => lines.push(Buffer.from(l).toString('latin1')), signal: new AbortController().signal },
  );
  return { dir, report, lines };
}

test('a looping worker: the next job gets the directory of the last one when it was left as given, its script written over', async () => {
  const tmpRoot = root();
  const sandbox = new ProcessSandbox();
  const dirs = new JobDirs();
  try {
    const long = `# ${'x'.repeat(5000)}\necho one; stat -c '%a %h' script.sh; ls -A\n`;
    const first = await loopJob(dirs, sandbox, tmpRoot, long);
    assert.deepEqual(first.report.result, { type: 'exited', code: 0 });
    assert.deepEqual(first.lines, ['one', '500 1', 'script.sh']);
    assert.deepEqual(readdirSync(tmpRoot), [first.dir.slice(tmpRoot.length + 1)]);
    // a shorter script over the longer one: exactly its bytes, mode 0500, nothing else in the directory
    const short = 'echo two; stat -c %a script.sh; wc -c < script.sh; ls -A\n';
    const second = await loopJob(dirs, sandbox, tmpRoot, short);
    assert.equal(second.dir, first.dir);
    assert.deepEqual(second.lines, ['two', '500', String(short.length), 'script.sh']);
    // artifacts: the directory is removed, the next job has a new one
    const third = await loopJob(dirs, sandbox, tmpRoot, 'echo data > out.txt\n');
    assert.equal(third.dir, first.dir);
    assert.deepEqual(third.report.files.map((f) => f.path), ['out.txt']);
    assert.deepEqual(readdirSync(tmpRoot), []);
    const fourth = await loopJob(dirs, sandbox, tmpRoot, 'ls -A\n');
    assert.notEqual(fourth.dir, first.dir);
    assert.deepEqual(fourth.lines, ['script.sh']);
    await dirs.clear();
    assert.deepEqual(readdirSync(tmpRoot), []);
  } finally {
    await sandbox.cleanup();
    rmSync(tmpRoot, { recursive: true, force: true });
  }
});

test('a looping worker: a directory or script the job changed is not used again', async () => {
  const tmpRoot = root();
  const sandbox = new ProcessSandbox();
  const dirs = new JobDirs();
  const outside = mkdtempSync(join(tmpdir(), 'builder-outside-'));
  writeFileSync(join(outside, 'target'), 'untouched\n');
  try {
    for (const change of ['chmod 755 .', 'chmod 700 script.sh', `rm script.sh; ln -s ${outside}/target script.sh`, `ln script.sh ${outside}/hard`, 'rm script.sh', 'exit 3']) {
      const { dir } = await loopJob(dirs, sandbox, tmpRoot, `${change}\n`);
      const kept = readdirSync(tmpRoot).length === 1;
      // a nonzero exit leaves the directory as given: kept; any change: removed
      assert.equal(kept, change === 'exit 3', change);
      const next = await loopJob(dirs, sandbox, tmpRoot, 'stat -c %a .; ls -A\n');
      assert.equal(next.dir === dir, kept, change);
      assert.deepEqual(next.lines, ['700', 'script.sh'], change);
    }
    assert.equal(readFileSync(join(outside, 'target'), 'utf8'), 'untouched\n');
    await dirs.clear();
    assert.deepEqual(readdirSync(tmpRoot), []);
  } finally {
    await sandbox.cleanup();
    rmSync(tmpRoot, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  }
});

test('a looping worker: where a job\'s process may outlive it (the /proc scan), its directory is never given to the next job', async () => {
  const tmpRoot = root();
  const sandbox = new ProcessSandbox({ containment: 'scan' });
  const dirs = new JobDirs();
  try {
    assert.equal(sandbox.jobsMayOutlive, true);
    const first = await loopJob(dirs, sandbox, tmpRoot, 'echo one\n');
    assert.deepEqual(first.lines, ['one']);
    assert.deepEqual(readdirSync(tmpRoot), []);
    const second = await loopJob(dirs, sandbox, tmpRoot, 'echo two\n');
    assert.notEqual(second.dir, first.dir);
    assert.deepEqual(second.lines, ['two']);
  } finally {
    await dirs.clear();
    await sandbox.cleanup();
    rmSync(tmpRoot, { recursive: true, force: true });
  }
});
