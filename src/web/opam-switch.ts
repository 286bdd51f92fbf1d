// An `opam switch export` file (the `opam-switch` artifact of a build): roots, installed packages
// and the opam file of each package (its `package "name" { ... }` section), as builder-web reads it.
import { elements, field, formulaNames, parseOpam, section, str, type OpamItem } from './opam-file.ts';

export interface OpamPackage {
  name: string;
  version: string;
  /** the package's opam file from the export, when it has one */
  opam?: { items: OpamItem[]; text: string };
}

export interface OpamSwitch {
  roots: string[];
  /** name -> package */
  installed: Map<string, OpamPackage>;
}

function split(nv: string): { name: string; version: string } {
  const dot = nv.indexOf('.');
  return dot > 0 ? { name: nv.slice(0, dot), version: nv.slice(dot + 1) } : { name: nv, version: '' };
}

/** The section's body with its indentation removed: the opam file as a package would ship it. */
function body(item: OpamItem): string {
  const open = item.text.indexOf('{');
  const inner = item.text.slice(open + 1, item.text.lastIndexOf('}'));
  const lines = inner.split('\n');
  while (lines.length && lines[0]!.trim() === '') lines.shift();
  while (lines.length && lines[lines.length - 1]!.trim() === '') lines.pop();
  // the indentation of the first field (the lines of a multi-line string may have less)
  const indent = lines.length ? lines[0]!.match(/^\s*/)![0].length : 0;
  return lines.map((l) => l.slice(Math.min(indent, l.match(/^\s*/)![0].length))).join('\n') + '\n';
}

export function parseOpamSwitchExport(text: string): OpamSwitch {
  const items = parseOpam(text);
  const installed = new Map<string, OpamPackage>();
  for (const v of elements(field(items, 'installed'))) {
    const s = str(v);
    if (s) installed.set(split(s).name, split(s));
  }
  for (const item of items) {
    if (item.kind !== 'section' || item.name !== 'package' || !item.label) continue;
    const p = installed.get(item.label);
    if (p) p.opam = { items: item.items ?? [], text: body(item) };
  }
  const roots = elements(field(items, 'roots')).map(str).filter((s): s is string => !!s).map((s) => split(s).name);
  return { roots, installed };
}

/** The single root package, as builder-web requires for sections and synopsis. */
export function rootPackage(sw: OpamSwitch): OpamPackage | undefined {
  return sw.roots.length === 1 ? sw.installed.get(sw.roots[0]!) : undefined;
}

/** Direct dependencies of a package that are installed in the switch (depends and depopts). */
export function dependencies(sw: OpamSwitch, p: OpamPackage): string[] {
  const names = [...formulaNames(field(p.opam?.items, 'depends')), ...formulaNames(field(p.opam?.items, 'depopts'))];
  return [...new Set(names)].filter((n) => n !== p.name && sw.installed.has(n)).sort();
}

/**
 * builder-web's sections: "Unikernels" when the root package is a MirageOS unikernel (it has
 * x-mirage-opam-lock-location, or its name starts with mirage-unikernel-), "Unikernels (with
 * metrics reported to Influx)" when such a unikernel also has metrics-influx installed or depends
 * on mirage-monitoring, else "Packages".
 */
export function sectionOfSwitch(sw: OpamSwitch): string | undefined {
  const root = rootPackage(sw);
  if (!root) return undefined;
  const unikernel = field(root.opam?.items, 'x-mirage-opam-lock-location') !== undefined || root.name.startsWith('mirage-unikernel-');
  if (!unikernel) return 'Packages';
  const metrics = sw.installed.has('metrics-influx') || formulaNames(field(root.opam?.items, 'depends')).includes('mirage-monitoring');
  return metrics ? 'Unikernels (with metrics reported to Influx)' : 'Unikernels';
}

export function synopsisOfSwitch(sw: OpamSwitch): string | undefined {
  return str(field(rootPackage(sw)?.opam?.items, 'synopsis'));
}

/** The source of a package: its url section's src (with a commit in the fragment for git). */
export function sourceUrl(p: OpamPackage): string | undefined {
  return str(field(section(p.opam?.items, 'url')?.items, 'src'));
}

export interface DuniverseDir {
  dir: string;
  url: string;
  hashes: string[];
}

/** x-opam-monorepo-duniverse-dirs of the root package: [ [URL DIR [HASH*]] ... ]. */
export function duniverseDirs(sw: OpamSwitch): Map<string, DuniverseDir> | undefined {
  const v = field(rootPackage(sw)?.opam?.items, 'x-opam-monorepo-duniverse-dirs');
  if (!v) return undefined;
  const out = new Map<string, DuniverseDir>();
  for (const e of elements(v)) {
    if (e.t !== 'list') continue;
    const [url, dir, hashes] = e.items;
    const u = str(url);
    const d = str(dir);
    if (u === undefined || d === undefined) continue;
    out.set(d, { dir: d, url: u, hashes: elements(hashes).map(str).filter((s): s is string => !!s) });
  }
  return out;
}
