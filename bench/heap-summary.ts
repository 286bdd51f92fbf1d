// Reads a V8 heap snapshot (.heapsnapshot) and sums the objects' own sizes by kind: strings, arrays,
// Map/Set backing stores, code, and plain objects by constructor name. For the memory bench.
import { readFileSync } from 'node:fs';

export interface HeapGroup {
  what: string;
  count: number;
  bytes: number;
}

export interface HeapSummary {
  totalBytes: number;
  groups: HeapGroup[];
}

export function summarizeHeapSnapshot(file: string): HeapSummary {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const groups = new Map<string, HeapGroup>();
  let totalBytes = 0;
  const nodes = snap.nodes;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + iType]!]!;
    const size = nodes[i + iSize]!;
    totalBytes += size;
    let what: string;
    if (type === 'object') what = `object ${snap.strings[nodes[i + iName]!]}`;
    else if (type === 'array') what = `array ${snap.strings[nodes[i + iName]!]}`;
    else if (type === 'string' || type === 'concatenated string' || type === 'sliced string') what = 'string';
    else if (type === 'hidden') what = `hidden ${snap.strings[nodes[i + iName]!]}`;
    else what = type;
    let g = groups.get(what);
    if (!g) groups.set(what, (g = { what, count: 0, bytes: 0 }));
    g.count++;
    g.bytes += size;
  }
  return { totalBytes, groups: [...groups.values()].sort((a, b) => b.bytes - a.bytes) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const s = summarizeHeapSnapshot(process.argv[2]!);
  console.log(`total ${(s.totalBytes / 2 ** 20).toFixed(1)} MiB`);
  for (const g of s.groups.slice(0, Number(process.argv[3] ?? 25))) console.log(`${(g.bytes / 2 ** 20).toFixed(2).padStart(8)} MiB ${String(g.count).padStart(9)}  ${g.what}`);
}
