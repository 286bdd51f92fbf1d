// `builder inspect --machine job|worker|supervisor [--format mermaid|dot|json]`: draws a machine definition
// by walking the XState machine itself (states, initial states, final states, transitions), so the
// drawing never drifts from the code. A transition defined on a parent applies from each of its
// children that does not handle the event itself; it is drawn from each of them.
import { parseArgs } from 'node:util';
import { parseArgsMessage } from './parse-args-message.ts';

export const MACHINES = ['job', 'worker', 'supervisor'] as const;
export const FORMATS = ['mermaid', 'dot', 'json'] as const;
type MachineName = (typeof MACHINES)[number];
type Format = (typeof FORMATS)[number];

export const usage = `usage: builder inspect --machine MACHINE [--format FORMAT]

Draws a state machine definition of the server.

  --machine MACHINE   job (a job run: machines/job-run.ts), worker (a worker connection:
                      machines/worker-connection.ts) or supervisor (machines/supervisor.ts)
  --format FORMAT     mermaid (a stateDiagram-v2), dot (Graphviz) or json (default mermaid)
  -h, --help          this text

Example (dot is Graphviz's, Debian package graphviz): builder inspect --machine job --format dot | dot -Tsvg > job-run.svg`;

/** A node of XState's machine tree: the parts we read. */
interface StateNodeLike {
  key: string;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  path: string[];
  states: Record<string, StateNodeLike>;
  initial?: { target?: StateNodeLike[] };
  transitions: Map<string, { target?: StateNodeLike[]; guard?: unknown }[]>;
}

export interface MachineGraph {
  id: string;
  /** every state by its dotted path, with its parent ('' at the top) */
  states: { path: string; key: string; parent: string; type: StateNodeLike['type'] }[];
  /** initial child of every compound state ('' is the machine) */
  initial: { parent: string; target: string }[];
  transitions: { from: string; to: string; event: string; guarded: boolean; inherited: boolean }[];
}

async function loadMachine(name: MachineName): Promise<{ id: string; root: StateNodeLike }> {
  switch (name) {
    case 'job':
      return (await import('../../machines/job-run.ts')).jobRunMachine as never;
    case 'worker':
      return (await import('../../machines/worker-connection.ts')).workerConnectionMachine as never;
    case 'supervisor':
      return (await import('../../machines/supervisor.ts')).supervisorMachine as never;
  }
}

const pathOf = (n: StateNodeLike): string => n.path.join('.');

export function machineGraph(machine: { id: string; root: StateNodeLike }): MachineGraph {
  const graph: MachineGraph = { id: machine.id, states: [], initial: [], transitions: [] };
  const visit = (node: StateNodeLike, inherited: Map<string, { target?: StateNodeLike[]; guard?: unknown }[]>) => {
    const here = pathOf(node);
    const children = Object.values(node.states ?? {});
    if (node.initial?.target?.length) for (const t of node.initial.target) graph.initial.push({ parent: here, target: pathOf(t) });
    if (node.type !== 'final') {
      const own = node.transitions ?? new Map();
      const add = (event: string, defs: { target?: StateNodeLike[]; guard?: unknown }[], isInherited: boolean) => {
        for (const d of defs) for (const t of d.target ?? []) graph.transitions.push({ from: here, to: pathOf(t), event, guarded: d.guard !== undefined, inherited: isInherited });
      };
      if (children.length === 0) {
        for (const [event, defs] of own) add(event, defs, false);
        for (const [event, defs] of inherited) if (!own.has(event)) add(event, defs, true);
      } else if (node.path.length > 0) {
        // a compound state's own transitions leave it from any child: drawn from the compound state
        for (const [event, defs] of own) add(event, defs, false);
      }
    }
    // transitions of the machine itself (path []) apply from each child; a compound child's too
    const passDown = new Map(inherited);
    if (node.path.length === 0) for (const [event, defs] of node.transitions ?? new Map()) passDown.set(event, defs);
    for (const child of children) {
      graph.states.push({ path: pathOf(child), key: child.key, parent: here, type: child.type });
      visit(child, passDown);
    }
  };
  visit(machine.root, new Map());
  return graph;
}

const mermaidId = (path: string): string => path.replace(/[^A-Za-z0-9_]/g, '_');

export function toMermaid(g: MachineGraph): string {
  const lines = ['stateDiagram-v2', `  %% ${g.id}: drawn from the machine definition by builder inspect`];
  const render = (parent: string, indent: string) => {
    for (const s of g.states.filter((x) => x.parent === parent)) {
      const id = mermaidId(s.path);
      if (id !== s.key) lines.push(`${indent}state "${s.key}" as ${id}`);
      if (g.states.some((x) => x.parent === s.path)) {
        lines.push(`${indent}state ${id} {`);
        render(s.path, indent + '  ');
        lines.push(`${indent}}`);
      }
    }
    for (const i of g.initial.filter((x) => x.parent === parent)) lines.push(`${indent}[*] --> ${mermaidId(i.target)}`);
    for (const s of g.states.filter((x) => x.parent === parent && x.type === 'final')) lines.push(`${indent}${mermaidId(s.path)} --> [*]`);
  };
  render('', '  ');
  for (const t of g.transitions) lines.push(`  ${mermaidId(t.from)} --> ${mermaidId(t.to)}: ${t.event}${t.guarded ? ' [guarded]' : ''}`);
  return lines.join('\n');
}

const dotId = (s: string): string => JSON.stringify(s);

export function toDot(g: MachineGraph): string {
  const lines = [`digraph ${dotId(g.id)} {`, '  rankdir=LR;', '  node [shape=box, style=rounded, fontname="sans-serif"];', '  edge [fontname="sans-serif", fontsize=10];'];
  const render = (parent: string, indent: string) => {
    const start = `__start${parent ? `_${parent}` : ''}`;
    const initial = g.initial.filter((x) => x.parent === parent);
    if (initial.length) lines.push(`${indent}${dotId(start)} [shape=point, label=""];`);
    for (const s of g.states.filter((x) => x.parent === parent)) {
      if (g.states.some((x) => x.parent === s.path)) {
        lines.push(`${indent}subgraph ${dotId(`cluster_${s.path}`)} {`, `${indent}  label=${dotId(s.key)};`);
        render(s.path, indent + '  ');
        lines.push(`${indent}}`);
      } else {
        lines.push(`${indent}${dotId(s.path)} [label=${dotId(s.key)}${s.type === 'final' ? ', peripheries=2' : ''}];`);
      }
    }
    for (const i of initial) lines.push(`${indent}${dotId(start)} -> ${dotId(i.target)};`);
  };
  render('', '  ');
  for (const t of g.transitions) {
    const style = [`label=${dotId(t.event + (t.guarded ? ' [guarded]' : ''))}`, ...(t.inherited ? ['style=dashed'] : [])];
    lines.push(`  ${dotId(t.from)} -> ${dotId(t.to)} [${style.join(', ')}];`);
  }
  lines.push('}');
  return lines.join('\n');
}

export async function drawMachine(name: MachineName, format: Format): Promise<string> {
  const g = machineGraph(await loadMachine(name));
  if (format === 'json') return JSON.stringify(g, null, 2);
  return format === 'dot' ? toDot(g) : toMermaid(g);
}

export async function inspectMachine(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { machine: { type: 'string' }, format: { type: 'string', default: 'mermaid' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: false,
    }));
  } catch (e) {
    process.stderr.write(`builder inspect: ${parseArgsMessage(e)} (see builder inspect --machine job --help)\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(usage + '\n');
    return 0;
  }
  const machine = values.machine as MachineName;
  const format = values.format as Format;
  if (!MACHINES.includes(machine)) return bad(`--machine: ${JSON.stringify(values.machine ?? '')} is not one of ${MACHINES.join(', ')}`);
  if (!FORMATS.includes(format)) return bad(`--format: ${JSON.stringify(format)} is not one of ${FORMATS.join(', ')}`);
  process.stdout.write((await drawMachine(machine, format)) + '\n');
  return 0;
}

function bad(message: string): number {
  process.stderr.write(`builder inspect: ${message} (see builder inspect --machine job --help)\n`);
  return 2;
}
