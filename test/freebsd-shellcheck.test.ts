// The FreeBSD files cannot run here (no jails, no ZFS, no rc.subr): they are kept shellcheck-clean, and the jail
// script's argument handling, which runs before it touches anything, is exercised with the system sh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const root = new URL('../', import.meta.url).pathname;
const SCRIPTS = ['freebsd/rc.d/builder', 'freebsd/rc.d/builder_worker', 'freebsd/builder-worker-jail.sh', '.ci/start-docker.sh'];

const probe = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });
const missing = probe.error ? probe.error.message : undefined;

test('shellcheck finds nothing in the shell scripts', { skip: missing !== undefined && !process.env.CI && `shellcheck missing: ${missing}` }, () => {
  assert.equal(missing, undefined, 'shellcheck is required under CI');
  const r = spawnSync('shellcheck', ['--severity=style', ...SCRIPTS], { cwd: root, encoding: 'utf8' });
  assert.equal(r.stdout + r.stderr, '');
  assert.equal(r.status, 0);
});

test('the rc.d scripts declare what rc.subr needs', () => {
  for (const [file, name] of [['freebsd/rc.d/builder', 'builder'], ['freebsd/rc.d/builder_worker', 'builder_worker']] as const) {
    const text = readFileSync(root + file, 'utf8');
    assert.match(text, new RegExp(`^# PROVIDE: ${name}$`, 'm'));
    assert.match(text, new RegExp(`^name="${name}"$`, 'm'));
    assert.match(text, new RegExp(`^rcvar="${name}_enable"$`, 'm'));
    assert.match(text, /^run_rc_command "\$1"$/m);
  }
});

test('the jail script refuses incomplete arguments before touching anything', () => {
  const script = root + 'freebsd/builder-worker-jail.sh';
  const help = spawnSync('sh', [script, '-h'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /-p PLATFORM/);
  for (const [args, reason] of [
    [['-p', 'x'], '-s SNAPSHOT are required'],
    [['-p', 'x', '-s', 'zroot/t'], 'is not a snapshot'],
    [['-p', 'x', '-s', 'zroot/t@c', '-j', 'bad name'], 'bad jail name'],
    [['-z'], 'usage:'],
  ] as const) {
    const r = spawnSync('sh', [script, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 2, args.join(' '));
    assert.ok(r.stderr.includes(reason), r.stderr);
  }
});
