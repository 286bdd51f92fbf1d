// Reading `opam switch export` files and comparing two of them as builder-web's compare page does:
// packages added, removed and changed in version, opam file diffs of same-version packages (a
// changed source commit), duniverse directories, and the section/synopsis inference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareOpamSwitches } from '../src/web/compare.ts';
import { dependencies, parseOpamSwitchExport, sectionOfSwitch, sourceUrl, synopsisOfSwitch } from '../src/web/opam-switch.ts';
import { unifiedDiff } from '../src/web/line-diff.ts';

const exportWith = (root: string, extra: { dirs?: string; rootFields?: string; installed?: string[] } = {}) => `opam-version: "2.0"
compiler: ["ocaml-base-compiler.4.14.2"]
roots: ["${root}.dev"]
installed: [${['ocaml.4.14.2', 'dune.3.16.0', `${root}.dev`, ...(extra.installed ?? [])].map((p) => `"${p}"`).join(' ')}]
# a comment between the fields
package "${root}" {
  opam-version: "2.0"
  synopsis: "The root package"
  description: """
A description with "quotes", a # sign and (* no comment *).
"""
  depends: [
    "ocaml" {>= "4.08.0"}
    "dune" {>= "3.0" & build}
    ("mirage-monitoring" | "metrics-lwt") {with-test}
  ]
  depopts: ["lwt"]
  available: os != "win32" (* a real comment *)
  ${extra.rootFields ?? ''}
  x-opam-monorepo-duniverse-dirs: [
    ${extra.dirs ?? ''}
  ]
}
package "dune" {
  opam-version: "2.0"
  url { src: "https://example.org/dune-3.16.0.tbz" checksum: "sha256=abc" }
}
`;

test('an opam switch export: roots, installed packages, opam files, sections and synopsis', () => {
  const sw = parseOpamSwitchExport(exportWith('mirage-unikernel-dns'));
  assert.deepEqual(sw.roots, ['mirage-unikernel-dns']);
  assert.deepEqual([...sw.installed.keys()], ['ocaml', 'dune', 'mirage-unikernel-dns']);
  assert.equal(synopsisOfSwitch(sw), 'The root package');
  // a unikernel by its name; mirage-monitoring in its depends puts it under "with metrics"
  assert.equal(sectionOfSwitch(sw), 'Unikernels (with metrics reported to Influx)');
  assert.deepEqual(dependencies(sw, sw.installed.get('mirage-unikernel-dns')!), ['dune', 'ocaml']);
  assert.equal(sourceUrl(sw.installed.get('dune')!), 'https://example.org/dune-3.16.0.tbz');
  assert.match(sw.installed.get('mirage-unikernel-dns')!.opam!.text, /^opam-version: "2\.0"\nsynopsis: "The root package"\n/);
  // a library: "Packages"; a lock location makes a unikernel of any name
  assert.equal(sectionOfSwitch(parseOpamSwitchExport(exportWith('fmt'))), 'Packages');
  const locked = parseOpamSwitchExport(exportWith('dns', { rootFields: 'x-mirage-opam-lock-location: "mirage/dns.opam.locked"' }).replace('("mirage-monitoring" | "metrics-lwt") {with-test}', ''));
  assert.equal(sectionOfSwitch(locked), 'Unikernels');
});

test('comparing two exports: versions, opam files with a changed source, duniverse directories', () => {
  const dir = (url: string, name: string, hash: string) => `["${url}" "${name}" ["sha256=${hash}"]]`;
  const left = exportWith('app', {
    installed: ['fmt.0.9.0', 'logs.0.7.0'],
    rootFields: 'url { src: "git+https://example.org/app.git#1111111" }',
    dirs: [dir('https://a.example/x.tbz', 'x', 'aa'), dir('https://a.example/gone.tbz', 'gone', 'bb'), dir('https://a.example/y.tbz', 'y', 'cc')].join('\n    '),
  });
  const right = exportWith('app', {
    installed: ['fmt.0.9.1', 'cstruct.6.2.0'],
    rootFields: 'url { src: "git+https://example.org/app.git#2222222" }',
    dirs: [dir('https://a.example/x.tbz', 'x', 'aa'), dir('https://a.example/new.tbz', 'new', 'dd'), dir('https://b.example/y.tbz', 'y', 'ee')].join('\n    '),
  });
  const c = compareOpamSwitches(left, right);
  assert.deepEqual(c.packages, {
    added: [{ name: 'cstruct', value: '6.2.0' }],
    removed: [{ name: 'logs', value: '0.7.0' }],
    changed: [{ name: 'fmt', from: '0.9.0', to: '0.9.1' }],
  });
  assert.equal(c.opamFiles.length, 1);
  assert.equal(c.opamFiles[0]!.package, 'app.dev');
  assert.match(c.opamFiles[0]!.diff, /^-url \{ src: "git\+https:\/\/example\.org\/app\.git#1111111" \}$/m);
  assert.match(c.opamFiles[0]!.diff, /^\+url \{ src: "git\+https:\/\/example\.org\/app\.git#2222222" \}$/m);
  assert.deepEqual(c.duniverse, {
    removed: [{ dir: 'gone', url: 'https://a.example/gone.tbz' }],
    added: [{ dir: 'new', url: 'https://a.example/new.tbz' }],
    changed: [{ dir: 'y', urlLeft: 'https://a.example/y.tbz', urlRight: 'https://b.example/y.tbz', hashes: [{ left: 'sha256=cc', right: 'sha256=ee' }] }],
  });
  // the same export twice: nothing differs
  const same = compareOpamSwitches(left, left);
  assert.equal(same.opamFiles.length + same.packages.added.length + same.packages.removed.length + same.packages.changed.length, 0);
  assert.deepEqual(same.duniverse, { removed: [], added: [], changed: [] });
  // without a single root package the duniverse is not compared, as builder-web says
  const rootless = left.replace('roots: ["app.dev"]', 'roots: ["app.dev" "dune.3.16.0"]');
  assert.equal(compareOpamSwitches(rootless, right).duniverseError, 'not a single root package found in opam switch export');
});

test('unified diffs as diff -u prints them', () => {
  const a = 'one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n';
  const b = 'one\ntwo\nTHREE\nfour\nfive\nsix\nseven\neight\nnine\nten\neleven\n';
  assert.equal(
    unifiedDiff(a, b, 'left/x/opam', 'right/x/opam'),
    ['--- left/x/opam', '+++ right/x/opam', '@@ -1,6 +1,6 @@', ' one', ' two', '-three', '+THREE', ' four', ' five', ' six', '@@ -8,3 +8,4 @@', ' eight', ' nine', ' ten', '+eleven', ''].join('\n'),
  );
  assert.equal(unifiedDiff(a, a, 'l', 'r'), '');
});
