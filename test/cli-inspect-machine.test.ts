// `builder inspect --machine ... --format mermaid|dot|json`: the drawing is walked from the machine definitions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jobRunMachine } from '../machines/job-run.ts';
import { workerConnectionMachine } from '../machines/worker-connection.ts';
import { runCli } from './helpers/cli-process.ts';

const stateKeys = (m: { root: { states: Record<string, { type: string }> } }) => Object.keys(m.root.states);
const finals = (m: { root: { states: Record<string, { type: string }> } }) => Object.entries(m.root.states).filter(([, s]) => s.type === 'final').map(([k]) => k);

test('mermaid: every state, the initial state, the final states and each transition of the job machine', async () => {
  const r = await runCli(['inspect', '--machine', 'job', '--format', 'mermaid']);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines[0], 'stateDiagram-v2');
  assert.ok(lines.includes(`  [*] --> ${jobRunMachine.config.initial}`));
  for (const f of finals(jobRunMachine)) assert.ok(lines.includes(`  ${f} --> [*]`), f);
  const edges = lines.filter((l) => / --> /.test(l) && !l.includes('[*]'));
  // each state's own transitions, from the definition
  for (const [key, def] of Object.entries(jobRunMachine.config.states!)) {
    for (const [event, t] of Object.entries((def as { on?: Record<string, { target: string }> }).on ?? {})) {
      assert.ok(edges.includes(`  ${key} --> ${t.target} : ${event}`.replace(' : ', ': ')), `${key} ${event}`);
    }
  }
  // transitions of the machine apply from every state that is not final and does not handle the event
  const drawnFrom = new Set(edges.filter((l) => l.endsWith(': REQUEUE')).map((l) => l.trim().split(' ')[0]));
  assert.deepEqual([...drawnFrom].sort(), stateKeys(jobRunMachine).filter((k) => !finals(jobRunMachine).includes(k)).sort());
  assert.ok(edges.some((l) => l.endsWith(': TIMEOUT [guarded]')));
  assert.ok(!edges.some((l) => l.trim().startsWith('done ')), 'nothing leaves a final state');
});

test('dot for the worker machine, json for the supervisor, the aliases and the errors', async () => {
  const dot = await runCli(['inspect', '--machine', 'worker', '--format', 'dot']);
  assert.equal(dot.status, 0, dot.stderr);
  assert.match(dot.stdout, /^digraph "worker-connection" \{\n/);
  assert.match(dot.stdout, /\}\n$/);
  for (const k of stateKeys(workerConnectionMachine)) assert.match(dot.stdout, new RegExp(`^  "${k}" \\[label="${k}"`, 'm'));
  assert.match(dot.stdout, /"closed" \[label="closed", peripheries=2\]/);
  assert.match(dot.stdout, /"__start" -> "handshake";/);
  assert.match(dot.stdout, /"busy" -> "closed" \[label="CLOSE", style=dashed\];/);

  const json = await runCli(['--machine', 'supervisor', '--format', 'json'], { bin: new URL('../bin/builder-inspect.mjs', import.meta.url).pathname });
  assert.equal(json.status, 0, json.stderr);
  const g = JSON.parse(json.stdout);
  assert.equal(g.id, 'supervisor');
  assert.ok(g.transitions.length > 0 && g.states.length > 0);

  const badMachine = await runCli(['inspect', '--machine', 'robot']);
  assert.equal(badMachine.status, 2);
  assert.match(badMachine.stderr, /--machine: "robot" is not one of job, worker, supervisor/);
  const badFormat = await runCli(['inspect', '--machine', 'job', '--format', 'svg']);
  assert.equal(badFormat.status, 2);
  assert.match(badFormat.stderr, /--format: "svg" is not one of mermaid, dot, json/);
  const help = await runCli(['inspect', '--machine', 'job', '--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /mermaid \(a stateDiagram-v2\), dot \(Graphviz\) or json \(default mermaid\)/);
});
