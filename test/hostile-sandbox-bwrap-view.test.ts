// What a bwrap job may read of the host: what a build needs (/usr, /bin, /lib*, /etc) and its own directory. Not
// /root, /etc/shadow, the server's data and config directories, nor another job's directory under the same --tmp;
// /tmp is its own. The operator can show more with --bwrap-ro.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BwrapSandbox } from '../sandbox/bwrap.ts';
import { runScript, whenAvailable } from './sandbox-conformance.ts';

const bwrapProbe = spawnSync('bwrap', ['--die-with-parent', '--unshare-all', '--ro-bind', '/', '/', 'true']);
whenAvailable('bwrap', bwrapProbe.error?.message ?? (bwrapProbe.status === 0 ? undefined : `exit ${bwrapProbe.status}`), () => {
  test('a bwrap job cannot read the host\'s secrets, the server\'s directories or other jobs\' directories', async () => {
    // Stand-ins for a server's data and config directories and another job's directory, next to the job's own.
    const host = mkdtempSync(join(tmpdir(), 'builder-view-'));
    const other = mkdtempSync(join(tmpdir(), 'builder-other-job-'));
    const marker = 'a-secret-marker';
    for (const dir of [host, other]) writeFileSync(join(dir, 'secret'), marker);
    mkdirSync(join(host, 'shown'));
    writeFileSync(join(host, 'shown', 'file'), 'shown');
    writeFileSync(join(tmpdir(), 'builder-host-tmp-file'), marker);
    try {
      const probes = [
        '/etc/shadow',
        '/root',
        join(host, 'secret'),
        join(other, 'secret'),
        join(tmpdir(), 'builder-host-tmp-file'),
        '/var/lib',
        '/home',
      ];
      const script = [
        ...probes.map((p) => `if [ -d ${p} ]; then c=$(ls -A ${p} 2>/dev/null); else c=$(cat ${p} 2>/dev/null); fi; if [ -n "$c" ]; then echo "readable ${p}"; else echo "hidden ${p}"; fi`),
        'test -x /bin/sh && test -r /etc/passwd && echo "build basics ok"',
        `cat ${join(host, 'shown', 'file')} 2>/dev/null; echo`,
        'echo private > /tmp/x && cat /tmp/x',
      ].join('\n');
      const r = await runScript(
        { make: () => new BwrapSandbox({ readOnly: [join(host, 'shown')] }), liveDirectory: true, nc: '', networkReachesHostLoopback: false, fullUserland: true },
        script + '\n',
      );
      assert.deepEqual(r.outcome, { type: 'exited', code: 0 }, r.lines.join('\n'));
      assert.deepEqual(r.lines, [...probes.map((p) => `hidden ${p}`), 'build basics ok', 'shown', 'private']);
    } finally {
      rmSync(host, { recursive: true, force: true });
      rmSync(other, { recursive: true, force: true });
      rmSync(join(tmpdir(), 'builder-host-tmp-file'), { force: true });
    }
  });
});
