// deploy/kubernetes/ validated offline against the Kubernetes API schemas (kubernetes-models: the API's OpenAPI
// definitions compiled to JSON Schema validators). No cluster runs here; docs/DEPLOY.md says they are untested on one.
// Those schemas, like the API's, accept unknown fields: the fields the deployment relies on are checked by name below.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { Service } from 'kubernetes-models/v1/Service';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';

const DIR = new URL('../deploy/kubernetes/', import.meta.url);
const models: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Service': Service,
  'apps/v1/StatefulSet': StatefulSet,
  'apps/v1/Deployment': Deployment,
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Manifest = any;

function manifests(): Manifest[] {
  const out: Manifest[] = [];
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const doc of parseAllDocuments(readFileSync(new URL(file, DIR), 'utf8'))) {
      assert.deepEqual(doc.errors, [], `${file}: YAML errors`);
      out.push({ ...doc.toJS(), file });
    }
  }
  return out;
}

function validate(m: Manifest): void {
  const Model = models[`${m.apiVersion}/${m.kind}`];
  assert.ok(Model, `${m.file}: no schema for ${m.apiVersion} ${m.kind}`);
  const { file: _file, ...data } = m;
  new Model(data as never).validate();
}

test('every manifest validates against the Kubernetes API schema of its kind', () => {
  const all = manifests();
  assert.deepEqual(all.map((m) => `${m.kind}/${m.metadata.name}`).sort(), [
    'Deployment/builder-worker-debian-11',
    'Deployment/builder-worker-debian-12',
    'Service/builder-server',
    'StatefulSet/builder-server',
  ]);
  for (const m of all) assert.doesNotThrow(() => validate(m), `${m.file}: ${m.kind}/${m.metadata.name}`);
});

test('the validation rejects what the API server would (the schemas are really applied)', () => {
  const worker = manifests().find((m) => m.kind === 'Deployment');
  const broken = structuredClone(worker);
  broken.spec.replicas = 'three';
  assert.throws(() => validate(broken), /replicas must be integer/);
  const probe = structuredClone(worker);
  probe.spec.template.spec.containers[0].readinessProbe.exec.command = 'node healthcheck.mjs';
  assert.throws(() => validate(probe), /command must be array/);
});

test('the server: one replica, a persistent volume for /data, a headless Service, probes and requests', () => {
  const all = manifests();
  const sts = all.find((m) => m.kind === 'StatefulSet');
  const svc = all.find((m) => m.kind === 'Service');
  assert.equal(sts.spec.replicas, 1);
  assert.equal(sts.spec.serviceName, svc.metadata.name);
  assert.equal(svc.spec.clusterIP, 'None');
  assert.deepEqual(svc.spec.selector, sts.spec.template.metadata.labels);
  const [claim] = sts.spec.volumeClaimTemplates;
  const c = sts.spec.template.spec.containers[0];
  assert.deepEqual(c.volumeMounts, [{ name: claim.metadata.name, mountPath: '/data' }]);
  assert.ok(c.args.includes('--dir') && c.args[c.args.indexOf('--dir') + 1] === '/data');
  assert.ok(c.readinessProbe && c.livenessProbe && c.resources.requests.memory);
  assert.equal(sts.spec.template.spec.securityContext.fsGroup, 1000, 'the volume writable by the image user');
});

test('a worker Deployment per platform: --loop, the server by name, a grace period beyond the job timeout, probes, requests', () => {
  const svc = manifests().find((m) => m.kind === 'Service');
  const workers = manifests().filter((m) => m.kind === 'Deployment');
  const platforms = new Set<string>();
  for (const d of workers) {
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    const [cmd, platform] = c.args;
    assert.equal(cmd, 'worker');
    platforms.add(platform);
    assert.equal(d.metadata.name, `builder-worker-${platform}`);
    assert.ok(c.args.includes('--loop'));
    const timeout = Number(c.args[c.args.indexOf('--timeout') + 1]);
    assert.ok(pod.terminationGracePeriodSeconds > timeout, `${d.metadata.name}: grace ${pod.terminationGracePeriodSeconds} s > job timeout ${timeout} s`);
    assert.deepEqual(c.env, [{ name: 'BUILDER_REMOTE', value: `${svc.metadata.name}:1234` }]);
    assert.ok(c.readinessProbe && c.resources.requests.cpu && c.resources.limits.memory);
    assert.deepEqual(d.spec.selector.matchLabels, d.spec.template.metadata.labels);
  }
  assert.equal(platforms.size, workers.length, 'one Deployment per platform');
});
