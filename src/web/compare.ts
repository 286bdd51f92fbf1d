// The differences /compare shows: build-environment (KEY=VALUE), system-packages (name=version or
// name-version) and the packages installed in an opam switch export.

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

/** The `installed: [ "name.version" ... ]` list of an opam switch export. */
export function parseOpamSwitch(text: string): Map<string, string> {
  const m = new Map<string, string>();
  const block = text.match(/^installed\s*:\s*\[([^\]]*)\]/m);
  if (!block) return m;
  for (const [, pkg] of block[1]!.matchAll(/"([^"]+)"/g)) {
    const dot = pkg!.indexOf('.');
    if (dot > 0) m.set(pkg!.slice(0, dot), pkg!.slice(dot + 1));
    else m.set(pkg!, '');
  }
  return m;
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
