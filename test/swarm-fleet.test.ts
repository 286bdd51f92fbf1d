// The worker fleet on a real single-node Docker Swarm: deploy/swarm/stack.yml deployed as users deploy it, with
// an image assembled from local files by test/swarm/assemble-image.sh (no registry here). Jobs are scheduled with
// `builder` from the host through the server's published port; each job prints the hostname of the container it
// runs in (a task container's id), which the web frontend then shows in the build's console.
// The steps share one stack and follow each other: three replicas, scale to five, a replica killed mid-job,
// a rolling update under jobs, the server's container killed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventually, runCli } from './helpers/cli-process.ts';
import { whenAvailable } from './sandbox-conformance.ts';
import { ROOT, Stack, docker, freePort, sh, swarmProblem, type Container } from './swarm/swarm.ts';
import type { InfoExtended } from '../src/server/supervisor-info.ts';
import type { HistoryEntry } from '../src/server/persistence.ts';

const PLATFORM = 'debian-12';
const WORKERS = `worker-${PLATFORM}`;
const IMAGE = 'builder-swarm-test:latest';
const NODE_LABEL = 'builder.data';

const problem = await swarmProblem();

whenAvailable('docker swarm', problem, () => {
  describe('the worker fleet on docker swarm (deploy/swarm/stack.yml)', () => {
    let stack: Stack;
    let remote: string;
    let web: string;
    let scripts: string;
    let labelled = false;
    let failed = false;

    const cli = async (...args: string[]) => {
      const r = await runCli([...args, '-r', remote]);
      assert.equal(r.status, 0, `builder ${args.join(' ')}: ${r.stderr}${r.stdout}`);
      return r.stdout;
    };
    const info = async (): Promise<InfoExtended> => JSON.parse(await cli('info', '--json')) as InfoExtended;
    const history = async (name: string): Promise<HistoryEntry[]> => JSON.parse(await cli('history', name, '--json')) as HistoryEntry[];
    const script = (name: string, body: string): string => {
      const file = path.join(scripts, `${name}.sh`);
      writeFileSync(file, `#!/bin/sh\necho "ran-on $(cat /etc/hostname)"\n${body}\n`);
      return file;
    };
    /** Schedules the jobs, a few clients at a time. */
    const scheduleAll = async (jobs: { name: string; file: string; platform?: string }[]) => {
      for (let i = 0; i < jobs.length; i += 6) {
        await Promise.all(jobs.slice(i, i + 6).map((j) => cli('schedule', j.name, j.platform ?? PLATFORM, j.file)));
      }
    };
    const workersOf = (i: InfoExtended, platform = PLATFORM) => i.workers.filter((w) => w.platform === platform);
    const waitWorkers = (n: number, what: string, platform = PLATFORM) =>
      eventually(
        async () => {
          const i = await info().catch(() => undefined); // the server may be restarting
          return i && workersOf(i, platform).length === n ? true : undefined;
        },
        what,
        120_000,
      );
    /** The finished run of each job, once every one has finished. */
    const waitFinished = (names: string[], timeoutMs: number) =>
      eventually(
        async () => {
          const i = await info();
          const last = new Map(i.schedule.map((s) => [s.name, s.lastRun]));
          const runs = names.map((n) => last.get(n));
          return runs.every((r) => r) ? (runs as HistoryEntry[]) : undefined;
        },
        `${names.length} jobs to finish`,
        timeoutMs,
      );
    /** The hostname the job printed, from its console as the web frontend serves it. */
    const ranOn = async (run: HistoryEntry): Promise<string> => {
      const text = await eventually(async () => {
        const res = await fetch(`${web}/job/${run.jobName}/build/${run.uuid}/console`).catch(() => undefined);
        return res?.ok ? res.text() : undefined;
      }, `the console of ${run.jobName}`);
      const m = /ran-on (\S+)/.exec(text);
      assert.ok(m, `no ran-on line in the console of ${run.jobName}: ${text}`);
      return m[1]!;
    };
    const containerOfRemote = (containers: Container[], remoteAddr: string) => {
      const ip = remoteAddr.slice(0, remoteAddr.lastIndexOf(':')).replace(/^\[|\]$/g, '').replace(/^::ffff:/, '');
      return containers.find((c) => c.ips.includes(ip));
    };

    before(async () => {
      scripts = mkdtempSync(path.join(os.tmpdir(), 'builder-swarm-'));
      await sh('bash', [`${ROOT}test/swarm/assemble-image.sh`, IMAGE], process.env, 600_000);
      const node = (await docker('info', '--format', '{{.Swarm.NodeID}}')).trim();
      const labels = await docker('node', 'inspect', '-f', '{{json .Spec.Labels}}', node);
      if (!labels.includes(`"${NODE_LABEL}":"true"`)) {
        await docker('node', 'update', '--label-add', `${NODE_LABEL}=true`, node);
        labelled = true;
      }
      const [port, webPort] = [await freePort(), await freePort()];
      remote = `127.0.0.1:${port}`;
      web = `http://127.0.0.1:${webPort}`;
      stack = new Stack(`bst${process.pid}`, {
        BUILDER_IMAGE: IMAGE,
        BUILDER_IMAGE_DEBIAN_11: IMAGE,
        BUILDER_PORT: String(port),
        BUILDER_WEB_PORT: String(webPort),
        DEBIAN_12_REPLICAS: '3',
        DEBIAN_11_REPLICAS: '1',
        JOB_TIMEOUT: '300',
        HEALTH_INTERVAL: '5s', // the server's check
      });
      await stack.deploy();
    });

    after(async () => {
      if (failed && stack) {
        process.stderr.write(`--- docker stack ps\n${await stack.status()}\n--- server logs\n${await stack.logs('server')}\n--- worker logs\n${await stack.logs(WORKERS)}\n`);
      }
      await stack?.remove();
      if (labelled) await docker('node', 'update', '--label-rm', NODE_LABEL, (await docker('info', '--format', '{{.Swarm.NodeID}}')).trim()).catch(() => undefined);
      rmSync(scripts, { recursive: true, force: true });
    });

    const step = (name: string, fn: () => Promise<void>) =>
      test(name, async () => {
        try {
          await fn();
        } catch (err) {
          failed = true;
          throw err;
        }
      });

    step('three worker replicas connect, and 60 jobs all finish, spread over the replicas', async () => {
      await waitWorkers(3, `3 ${PLATFORM} workers in builder info`);
      await waitWorkers(1, `the debian-11 worker in builder info`, 'debian-11');
      const replicas = await stack.containers(WORKERS);
      assert.equal(replicas.length, 3);
      const file = script('quick', 'sleep 0.2');
      const names = Array.from({ length: 60 }, (_, i) => `fleet-${i}`);
      await scheduleAll([...names.map((name) => ({ name, file })), { name: 'other-platform', file, platform: 'debian-11' }]);
      const runs = await waitFinished([...names, 'other-platform'], 180_000);
      for (const r of runs) assert.equal(r.resultText, 'exited 0', `${r.jobName}: ${r.resultText}`);
      const hosts = await Promise.all(runs.map(ranOn));
      const own = new Set(replicas.map((c) => c.hostname));
      const used = new Set(hosts.slice(0, 60));
      for (const h of used) assert.ok(own.has(h), `job ran on ${h}, not a ${WORKERS} replica (${[...own].join(', ')})`);
      assert.ok(used.size >= 2, `60 jobs ran on ${used.size} replica(s) only`);
      const other = (await stack.containers('worker-debian-11')).map((c) => c.hostname);
      assert.deepEqual([hosts[60]], other, 'the debian-11 job ran on the debian-11 service');
      const [server] = await stack.containers('server');
      const health = await eventually(async () => {
        const s = (await docker('inspect', '-f', '{{.State.Health.Status}}', server!.id)).trim();
        return s === 'starting' ? undefined : s;
      }, "the server container's health check");
      assert.equal(health, 'healthy');
    });

    step('docker service scale to 5 shows 5 workers in builder info', async () => {
      await stack.scale(WORKERS, 5);
      await waitWorkers(5, `5 ${PLATFORM} workers in builder info`);
      const i = await info();
      const containers = await stack.containers(WORKERS);
      assert.equal(containers.length, 5);
      const matched = new Set(workersOf(i).map((w) => containerOfRemote(containers, w.remote)?.id));
      assert.equal(matched.size, 5, `the 5 workers of builder info are the 5 replicas: ${JSON.stringify(i.workers)}`);
    });

    step("killing a replica's container mid-job requeues the job and another replica finishes it", async () => {
      await cli('schedule', 'killed-mid-job', PLATFORM, script('killed-mid-job', 'sleep 10\necho done'));
      const { uuid, remote: at } = await eventually(async () => workersOf(await info()).find((w) => w.uuid !== null) as { uuid: string; remote: string } | undefined, 'the job on a worker');
      const victim = containerOfRemote(await stack.containers(WORKERS), at);
      assert.ok(victim, `no replica has the address ${at}`);
      await docker('kill', victim.id);
      const [run] = await waitFinished(['killed-mid-job'], 120_000);
      assert.equal(run!.uuid, uuid, 'the requeued run keeps its uuid');
      assert.equal(run!.resultText, 'exited 0');
      assert.ok(run!.transitions.filter((t) => t.state === 'assigned').length >= 2, `assigned twice: ${JSON.stringify(run!.transitions)}`);
      const host = await ranOn(run!);
      assert.notEqual(host, victim.hostname, 'finished by another replica');
      assert.equal((await history('killed-mid-job')).length, 1, 'one finished run');
      // the restart policy brings the killed slot back
      await waitWorkers(5, `5 ${PLATFORM} workers again after the kill`);
    });

    step('a rolling update of the workers while jobs run loses none', async () => {
      await stack.scale(WORKERS, 3);
      await waitWorkers(3, `3 ${PLATFORM} workers after scaling down`);
      const before = new Set((await stack.containers(WORKERS)).map((c) => c.hostname));
      const file = script('rolling', 'sleep 2');
      const names = Array.from({ length: 12 }, (_, i) => `rolling-${i}`);
      await scheduleAll(names.map((name) => ({ name, file })));
      await eventually(async () => ((await info()).runs.some((r) => names.includes(r.name)) ? true : undefined), 'a job running');
      // --force: new tasks of the same spec, one replica at a time (stack file: parallelism 1, stop-first)
      await docker('service', 'update', '--detach=false', '--force', '--update-monitor', '2s', stack.service(WORKERS));
      const after = new Set((await stack.containers(WORKERS)).map((c) => c.hostname));
      for (const h of after) assert.ok(!before.has(h), 'every replica was replaced');
      const runs = await waitFinished(names, 180_000);
      for (const r of runs) assert.equal(r.resultText, 'exited 0', `${r.jobName}: ${r.resultText}`);
      for (const n of names) assert.equal((await history(n)).length, 1, `${n} ran once`);
      const hosts = await Promise.all(runs.map(ranOn));
      assert.ok(hosts.some((h) => before.has(h)), 'replicas being replaced finished their jobs');
    });

    step("restarting the server's container keeps the schedule, and the same workers reconnect", async () => {
      const i0 = await info();
      const schedule = i0.schedule.map((s) => s.name).sort();
      const workers = (await stack.containers(WORKERS)).map((c) => c.id).sort();
      const [server] = await stack.containers('server');
      assert.ok(server);
      await docker('kill', server.id);
      // the restart policy starts a new server task on the same volume
      await eventually(async () => {
        const [s] = await stack.containers('server');
        return s && s.id !== server.id ? s : undefined;
      }, 'a new server container', 120_000);
      await waitWorkers(3, `the 3 ${PLATFORM} workers reconnected`);
      assert.deepEqual((await info()).schedule.map((s) => s.name).sort(), schedule, 'the schedule survived');
      assert.deepEqual((await stack.containers(WORKERS)).map((c) => c.id).sort(), workers, 'the workers were not restarted: they reconnected');
      await cli('schedule', 'after-restart', PLATFORM, script('after-restart', 'true'));
      const [run] = await waitFinished(['after-restart'], 60_000);
      assert.equal(run!.resultText, 'exited 0');
    });
  });
});
