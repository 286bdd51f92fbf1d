// /vizdependencies: the dependency graph of a build's opam switch, radially: the root package in
// the middle, its direct dependencies around it, every other installed package on the outer ring.
// Lighter nodes are more shared (more reverse dependencies). One offline HTML page, inline SVG and JS.
import { esc } from './html.ts';
import { dependencies, parseOpamSwitchExport, type OpamSwitch } from './opam-switch.ts';
import { vizPage } from './viz-page.ts';

export interface DependencyGraph {
  root: string;
  /** package -> its direct dependencies (installed ones) */
  edges: Map<string, string[]>;
  versions: Map<string, string>;
}

export function dependencyGraph(sw: OpamSwitch): DependencyGraph | undefined {
  if (sw.installed.size === 0) return undefined;
  const edges = new Map<string, string[]>();
  for (const p of sw.installed.values()) edges.set(p.name, dependencies(sw, p));
  const versions = new Map([...sw.installed.values()].map((p) => [p.name, p.version]));
  let root = sw.roots.length === 1 && sw.installed.has(sw.roots[0]!) ? sw.roots[0]! : undefined;
  if (!root) {
    // several roots (or none): a virtual root over them (or over the packages nobody depends on)
    const depended = new Set([...edges.values()].flat());
    const tops = sw.roots.filter((r) => sw.installed.has(r));
    root = '(switch)';
    edges.set(root, tops.length ? tops : [...edges.keys()].filter((n) => !depended.has(n)));
    versions.set(root, '');
  }
  return { root, edges, versions };
}

const xy = (r: number, a: number) => [r * Math.cos(a), r * Math.sin(a)] as const;

export function dependenciesHtml(title: string, opamSwitch: string): string {
  const g = dependencyGraph(parseOpamSwitchExport(opamSwitch));
  if (!g) return vizPage(title, `<p class="none">The opam switch export lists no installed packages.</p>`);
  const direct = g.edges.get(g.root) ?? [];
  const placed = new Set([g.root, ...direct]);
  // the outer ring ordered by the first direct dependency that needs each package, so clusters stay together
  const outer: string[] = [];
  const visit = (n: string) => {
    for (const d of g.edges.get(n) ?? []) {
      if (placed.has(d)) continue;
      placed.add(d);
      outer.push(d);
      visit(d);
    }
  };
  direct.forEach(visit);
  for (const n of g.edges.keys()) if (!placed.has(n)) outer.push(n);
  const rdeps = new Map<string, number>();
  for (const ds of g.edges.values()) for (const d of ds) rdeps.set(d, (rdeps.get(d) ?? 0) + 1);
  const maxR = Math.max(1, ...rdeps.values());
  // rings sized so the labels of the outer ring do not overlap (about 20 units per package)
  const R2 = Math.max(220, (outer.length * 20) / (2 * Math.PI));
  const R1 = Math.max(110, Math.min(R2 * 0.55, (direct.length * 26) / (2 * Math.PI)));
  const pos = new Map<string, readonly [number, number]>([[g.root, [0, 0]]]);
  direct.forEach((n, i) => pos.set(n, xy(R1, (2 * Math.PI * i) / Math.max(1, direct.length) - Math.PI / 2)));
  outer.forEach((n, i) => pos.set(n, xy(R2, (2 * Math.PI * i) / Math.max(1, outer.length) - Math.PI / 2)));
  const id = new Map([...pos.keys()].map((n, i) => [n, i]));
  const edgesSvg: string[] = [];
  for (const [from, ds] of g.edges) {
    const [x1, y1] = pos.get(from)!;
    for (const to of ds) {
      const [x2, y2] = pos.get(to)!;
      // curves bend towards the centre, so ring-to-ring edges do not run along the ring
      const cx = (x1 + x2) / 4;
      const cy = (y1 + y2) / 4;
      edgesSvg.push(`<path class="edge" data-f="${id.get(from)}" data-t="${id.get(to)}" d="M${x1.toFixed(1)},${y1.toFixed(1)} Q${cx.toFixed(1)},${cy.toFixed(1)} ${x2.toFixed(1)},${y2.toFixed(1)}"/>`);
    }
  }
  const nodesSvg = [...pos.entries()].map(([n, [x, y]]) => {
    const shared = (rdeps.get(n) ?? 0) / maxR;
    const light = 30 + Math.round(shared * 50);
    const r = n === g.root ? 12 : direct.includes(n) ? 8 : 6;
    const angle = (Math.atan2(y, x) * 180) / Math.PI;
    const flip = x < -0.5;
    const label = n === g.root
      ? `<text x="0" y="-18" text-anchor="middle" style="font-weight:bold;font-size:20px">${esc(n)}</text>`
      : `<text transform="translate(${x.toFixed(1)},${y.toFixed(1)}) rotate(${(flip ? angle + 180 : angle).toFixed(1)}) translate(${flip ? -(r + 4) : r + 4},5)" text-anchor="${flip ? 'end' : 'start'}">${esc(n)}</text>`;
    const version = g.versions.get(n);
    return `<g class="node" data-i="${id.get(n)}"><circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${r}" fill="hsl(210,60%,${light}%)"><title>${esc(n)}${version ? '.' + esc(version) : ''}: ${rdeps.get(n) ?? 0} reverse dependencies, ${(g.edges.get(n) ?? []).length} dependencies</title></circle>${label}</g>`;
  });
  // the view box around the nodes and their radial labels (about 9 units per character at 15px),
  // no wider: the graph fills its frame, the labels stay as large as they can
  const half = g.root.length * 6.5 + 8;
  let [x0, y0, x1, y1] = [-half, -42, half, 20];
  for (const [n, [x, y]] of pos) {
    if (n === g.root) continue;
    const d = Math.hypot(x, y) || 1;
    const reach = 12 + n.length * 9;
    const [ex, ey] = [x + (x / d) * reach, y + (y / d) * reach];
    x0 = Math.min(x0, x - 14, ex - 14);
    x1 = Math.max(x1, x + 14, ex + 14);
    y0 = Math.min(y0, y - 14, ey - 14);
    y1 = Math.max(y1, y + 14, ey + 14);
  }
  // a small graph is not blown up: at least 640 units each way, centred
  const atLeast = (lo: number, hi: number): [number, number] => {
    const grow = Math.max(0, 640 - (hi - lo)) / 2;
    return [lo - grow, hi + grow];
  };
  [x0, x1] = atLeast(x0, x1);
  [y0, y1] = atLeast(y0, y1);
  const script = `(function(){var s=document.querySelector('svg');var es=[].slice.call(s.querySelectorAll('.edge'));var ns=[].slice.call(s.querySelectorAll('.node'));
function hot(i){var near={};near[i]=1;es.forEach(function(e){var on=e.dataset.f===i;e.classList.toggle('hot',on);if(on)near[e.dataset.t]=1;});ns.forEach(function(n){n.classList.toggle('hot',n.dataset.i===i);n.classList.toggle('dim',!near[n.dataset.i]);});}
function off(){es.forEach(function(e){e.classList.remove('hot')});ns.forEach(function(n){n.classList.remove('hot','dim')});}
ns.forEach(function(n){n.addEventListener('mouseenter',function(){hot(n.dataset.i)});n.addEventListener('mouseleave',off);});})();`;
  return vizPage(
    title,
    `<p>${esc(g.root)}: ${direct.length} direct and ${outer.length} further dependencies. Hover a package to see what it depends on.</p>
<svg viewBox="${x0.toFixed(0)} ${y0.toFixed(0)} ${(x1 - x0).toFixed(0)} ${(y1 - y0).toFixed(0)}" role="img" aria-label="opam dependency graph">${edgesSvg.join('')}${nodesSvg.join('')}</svg>`,
    script,
  );
}
