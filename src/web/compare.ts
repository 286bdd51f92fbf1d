// The differences /compare shows: build-environment (KEY=VALUE), system-packages (name=version or
// name-version) and the opam switch exports (packages, their opam files, duniverse directories).
import { unifiedDiff } from './line-diff.ts';
import { duniverseDirs, parseOpamSwitchExport, type OpamSwitch } from './opam-switch.ts';

export interface Diff {
  added: { name: string; value: string }[];
  removed: { name: string; value: string }[];
  changed: { name: string; from: string; to: string }[];
}

function lines(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith('#'));
}

export function parseEnvironment(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of lines(text)) {
    const i = l.indexOf('=');
    if (i > 0) m.set(l.slice(0, i), l.slice(i + 1));
  }
  return m;
}

/** Debian style "name=version" or FreeBSD pkg style "name-version" (version after the last dash). */
export function parseSystemPackages(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of lines(text)) {
    const eq = l.indexOf('=');
    if (eq > 0) m.set(l.slice(0, eq), l.slice(eq + 1));
    else {
      const dash = l.lastIndexOf('-');
      if (dash > 0) m.set(l.slice(0, dash), l.slice(dash + 1));
      else m.set(l, '');
    }
  }
  return m;
}

/** name -> version of the packages installed in an opam switch export. */
export function parseOpamSwitch(text: string): Map<string, string> {
  return new Map([...parseOpamSwitchExport(text).installed.values()].map((p) => [p.name, p.version]));
}

export function diffMaps(a: Map<string, string>, b: Map<string, string>): Diff {
  const d: Diff = { added: [], removed: [], changed: [] };
  for (const [name, value] of a) {
    const other = b.get(name);
    if (other === undefined) d.removed.push({ name, value });
    else if (other !== value) d.changed.push({ name, from: value, to: other });
  }
  for (const [name, value] of b) if (!a.has(name)) d.added.push({ name, value });
  for (const list of [d.added, d.removed, d.changed]) list.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  return d;
}

export interface OpamFileDiff {
  /** name.version */
  package: string;
  diff: string;
}

export interface DuniverseDiff {
  removed: { dir: string; url: string }[];
  added: { dir: string; url: string }[];
  changed: { dir: string; urlLeft: string; urlRight?: string; hashes: { left?: string; right?: string }[] }[];
}

export interface OpamComparison {
  packages: Diff;
  /** packages of the same version in both whose opam files differ (a changed source URL or commit) */
  opamFiles: OpamFileDiff[];
  /** the duniverse directories of the root packages (empty lists when they have none) */
  duniverse?: DuniverseDiff;
  /** why the duniverse directories were not compared (builder-web's message: no single root package) */
  duniverseError?: string;
}

const normalized = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l)
    .join('\n');

function duniverseDiff(left: OpamSwitch, right: OpamSwitch): DuniverseDiff | string {
  for (const sw of [left, right]) {
    if (sw.roots.length !== 1) return 'not a single root package found in opam switch export';
    if (!sw.installed.get(sw.roots[0]!)?.opam) return "opam switch export doesn't contain the main package";
  }
  const l = duniverseDirs(left);
  const r = duniverseDirs(right);
  const a = l ?? new Map();
  const b = r ?? new Map();
  const d: DuniverseDiff = { removed: [], added: [], changed: [] };
  for (const [dir, x] of a) {
    const y = b.get(dir);
    if (!y) {
      d.removed.push({ dir, url: x.url });
      continue;
    }
    const kinds = new Set([...x.hashes, ...y.hashes].map((h: string) => h.split('=')[0]!));
    const hashes: { left?: string; right?: string }[] = [];
    for (const k of kinds) {
      const hl = x.hashes.find((h: string) => h.startsWith(k + '='));
      const hr = y.hashes.find((h: string) => h.startsWith(k + '='));
      if (hl !== hr) hashes.push({ ...(hl ? { left: hl } : {}), ...(hr ? { right: hr } : {}) });
    }
    if (x.url !== y.url || hashes.length > 0) d.changed.push({ dir, urlLeft: x.url, ...(x.url !== y.url ? { urlRight: y.url } : {}), hashes });
  }
  for (const [dir, y] of b) if (!a.has(dir)) d.added.push({ dir, url: y.url });
  for (const list of [d.removed, d.added, d.changed]) list.sort((p, q) => (p.dir < q.dir ? -1 : p.dir > q.dir ? 1 : 0));
  return d;
}

/** Two opam switch exports compared as builder-web does. */
export function compareOpamSwitches(leftText: string, rightText: string): OpamComparison {
  const left = parseOpamSwitchExport(leftText);
  const right = parseOpamSwitchExport(rightText);
  const versions = (s: OpamSwitch) => new Map([...s.installed.values()].map((p) => [p.name, p.version]));
  const opamFiles: OpamFileDiff[] = [];
  for (const [name, p] of left.installed) {
    const q = right.installed.get(name);
    if (!q || q.version !== p.version || !p.opam || !q.opam) continue;
    if (normalized(p.opam.text) === normalized(q.opam.text)) continue;
    opamFiles.push({ package: `${name}.${p.version}`, diff: unifiedDiff(p.opam.text, q.opam.text, `left/${name}/opam`, `right/${name}/opam`) });
  }
  opamFiles.sort((x, y) => (x.package < y.package ? -1 : x.package > y.package ? 1 : 0));
  const duniverse = duniverseDiff(left, right);
  return {
    packages: diffMaps(versions(left), versions(right)),
    opamFiles,
    ...(typeof duniverse === 'string' ? { duniverseError: duniverse } : { duniverse }),
  };
}
