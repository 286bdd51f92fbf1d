// `/job/:job/build/:uuid` and `/compare/:a/:b`: the data (also served as JSON) and its HTML.
import type { BuildRecord } from './build-record.ts';
import { resultText } from './build-record.ts';
import type { BuildStore } from './build-store.ts';
import type { Diff, OpamComparison } from './compare.ts';
import { compareOpamSwitches, diffMaps, parseEnvironment, parseSystemPackages } from './compare.ts';
import { duration, enc, encPath, h, hash, page, size, time, type Html } from './html.ts';
import type { LifecycleStep } from './live-state.ts';
import { lifecycleSvg } from './view-lifecycle.ts';
import { buildLink } from './view-jobs.ts';
import { NO_SYMBOLS } from './viz-treemap.ts';
import type { Solo5Info } from './solo5-manifest.ts';

export interface BuildData {
  build: BuildRecord;
  /** every build with the same main binary: same input ones, and the newest per other input */
  reproducedBy: BuildRecord[];
  sameInputSameOutput: BuildRecord[];
  differentInputSameOutput: BuildRecord[];
  sameInputDifferentOutput: BuildRecord[];
  /** the newest successful build on the same platform */
  latest?: BuildRecord;
  /** the nearest earlier / later successful build on the same platform with another main binary */
  previous?: BuildRecord;
  next?: BuildRecord;
  /** which visualizations apply to this build */
  viz: { dependencies: boolean; treemap: boolean; noSymbols?: true };
  lifecycle?: LifecycleStep[];
  /** the main binary's Solo5 manifest and ABI, when it has them */
  solo5?: Solo5Info;
}

export function buildData(
  store: BuildStore,
  b: BuildRecord,
  lifecycle: LifecycleStep[] | undefined,
  viz: BuildData['viz'] = { dependencies: false, treemap: false },
  solo5?: Solo5Info | null,
): BuildData {
  const reproducedBy = store.reproducedBy(b);
  const same = (o: BuildRecord) => b.inputId !== undefined && o.inputId === b.inputId;
  const latest = store.latestSuccessful(b.job, b.platform);
  return {
    build: b,
    reproducedBy,
    sameInputSameOutput: reproducedBy.filter(same),
    differentInputSameOutput: reproducedBy.filter((o) => !same(o)),
    sameInputDifferentOutput: store.sameInputDifferentOutput(b),
    ...(latest ? { latest } : {}),
    ...store.differentOutputNeighbours(b),
    viz,
    ...(lifecycle ? { lifecycle } : {}),
    ...(solo5 ? { solo5 } : {}),
  };
}

const compareLink = (left: BuildRecord, right: BuildRecord) => `/compare/${left.uuid}/${right.uuid}`;

export function buildNav(b: BuildRecord): Html {
  return h`<nav class="crumbs" aria-label="breadcrumbs"><a href="/">Home</a> › <a href="/job/${enc(b.job)}">Job ${b.job}</a> › <a href="/job/${enc(b.job)}?platform=${enc(b.platform)}">on ${b.platform}</a> › <a href="${buildLink(b)}">Build ${time(b.start)}</a></nav>`;
}

function vizSection(d: BuildData): Html {
  const base = buildLink(d.build);
  const frames = [
    d.viz.dependencies
      ? h`<figure class="viz"><iframe src="${base}/vizdependencies" title="Opam dependencies" loading="lazy"></iframe>
<figcaption><a href="${base}/vizdependencies">Opam dependencies</a>: the root package in the middle, its direct dependencies around it, shared dependencies lighter.</figcaption></figure>`
      : h``,
    d.viz.treemap
      ? h`<figure class="viz"><iframe src="${base}/viztreemap" title="Binary dissection" loading="lazy"></iframe>
<figcaption><a href="${base}/viztreemap">Binary dissection</a>: the size of each library and module in the main binary, from its symbol table.</figcaption></figure>`
      : d.viz.noSymbols
        ? h`<p class="empty no-symbols"><a href="${base}/viztreemap">Binary dissection</a>: ${NO_SYMBOLS}</p>`
        : h``,
  ];
  return d.viz.dependencies || d.viz.treemap || d.viz.noSymbols ? h`<section class="visualizations"><h2>Visualizations</h2>${frames}</section>` : h``;
}

export function buildPage(d: BuildData): string {
  const b = d.build;
  const base = buildLink(b);
  const tombstone = b.deleted
    ? h`<p class="notice">This build was removed by retention on ${time(b.deleted)}; its hashes are kept, its files may be gone.</p>`
    : h``;
  const artifacts = b.artifacts.map(
    (a) => h`<tr><td data-label="File"><a href="${base}/f/${encPath(a.path)}">${a.path}</a>${a.path === b.mainBinary?.path ? h` <span class="tag">main binary</span>` : h``}</td>
<td data-label="Size">${size(a.size)}</td><td data-label="SHA-256">${hash(a.sha256)}</td></tr>`,
  );
  const n = d.sameInputSameOutput.length + d.differentInputSameOutput.length;
  const reproduced = b.mainBinary
    ? n > 0
      ? h`<section class="reproduced"><h2>Reproduced by ${n} build${n === 1 ? '' : 's'}</h2><ul>
${d.sameInputSameOutput.map((o) => h`<li class="same-input">on ${o.platform}, same input, <a href="${buildLink(o)}">${time(o.start)}</a></li>`)}
${d.differentInputSameOutput.map((o) => h`<li class="other-input">on ${o.platform}, different input, <a href="${compareLink(o, b)}">${time(o.start)}</a> (compare)</li>`)}
</ul></section>`
      : h`<section class="reproduced"><h2>Not reproduced by another build yet</h2></section>`
    : h``;
  const different = d.sameInputDifferentOutput.length > 0
    ? h`<section class="warning"><h2>Same input, different output (not reproducible!)</h2><ul>${d.sameInputDifferentOutput.map(
        (o) => h`<li>on ${o.platform}, <a href="${compareLink(o, b)}">${time(o.start)}</a></li>`,
      )}</ul></section>`
    : h``;
  const comparisons = (
    [
      ['Latest build', d.latest],
      ['Later build with different output', d.next],
      ['Earlier build with different output', d.previous],
    ] as const
  )
    .filter(([, o]) => o && o.uuid !== b.uuid)
    .map(([label, o]) => h`<li>${label}: <a href="${compareLink(o!, b)}">${time(o!.start)}</a></li>`);
  const lifecycle = d.lifecycle && d.lifecycle.length > 0 ? h`<section><h2>Lifecycle</h2>${lifecycleSvg(d.lifecycle, b.finish)}</section>` : h``;
  const main = b.mainBinary
    ? h`<dt>Main binary</dt><dd><a class="download" href="${base}/f/${encPath(b.mainBinary.path)}" download>Download ${b.mainBinary.path.split('/').pop()}</a> (${size(b.mainBinary.size)})</dd>`
    : h``;
  const solo5 = d.solo5
    ? h`<dt>Solo5</dt><dd class="solo5">${d.solo5.abi.target} (ABI version ${d.solo5.abi.version}), ${d.solo5.manifest.devices.length === 0 ? 'no devices' : h`devices: ${d.solo5.manifest.devices.map((x, i) => h`${i ? ', ' : ''}<code>${x.name}</code> (${x.type === 'NET_BASIC' ? 'network' : 'block'})`)}`}</dd>`
    : h``;
  return page(
    `Job ${b.job} ${new Date(b.start).toISOString().slice(0, 19).replace('T', ' ')}Z`,
    h`${buildNav(b)}<h1><a href="/job/${enc(b.job)}">Job ${b.job}</a> build</h1>${tombstone}
<div class="build-columns"><div class="build-info">
<dl class="facts"><dt>UUID</dt><dd><code>${b.uuid}</code></dd><dt>Platform</dt><dd>${b.platform}</dd>
<dt>Started</dt><dd>${time(b.start)}</dd><dt>Duration</dt><dd>${duration(b.finish - b.start)}</dd>
<dt>Result</dt><dd class="${b.mainBinary ? 'ok' : 'fail'}">${resultText(b.result)}</dd>${main}${solo5}
<dt>Logs</dt><dd><a href="${base}/console">console</a> (${b.console.lines} lines) · <a href="${base}/script">script</a> · <a href="${base}/exec">exec</a> · <a href="${base}/all.tar.gz">all.tar.gz</a></dd>
${b.inputId ? h`<dt>Input id</dt><dd>${hash(b.inputId)}</dd>` : h``}</dl>
${reproduced}${different}
<section><h2>Artifacts</h2>${b.artifacts.length === 0 ? h`<p class="empty">None.</p>` : h`<table class="cards"><thead><tr><th>File</th><th>Size</th><th>SHA-256</th></tr></thead><tbody>${artifacts}</tbody></table>`}</section>
<section class="comparisons"><h2>Comparisons with other builds on the same platform</h2>${comparisons.length ? h`<ul>${comparisons}</ul>` : h`<p class="empty">No other successful build to compare with.</p>`}</section>
</div>${vizSection(d)}</div>${lifecycle}`,
  );
}

export interface CompareData {
  a: BuildRecord;
  b: BuildRecord;
  environment?: Diff;
  systemPackages?: Diff;
  opamPackages?: Diff;
  opam?: OpamComparison;
}

export async function compareData(store: BuildStore, a: BuildRecord, b: BuildRecord): Promise<CompareData> {
  const text = async (x: BuildRecord, path: string): Promise<string | undefined> => {
    const ref = x.artifacts.find((f) => f.path === path);
    if (!ref) return undefined;
    return (await store.readBlob(ref.sha256).catch(() => undefined))?.toString('utf8');
  };
  const diff = async (path: string, parse: (t: string) => Map<string, string>): Promise<Diff | undefined> => {
    const [ta, tb] = [await text(a, path), await text(b, path)];
    return ta === undefined || tb === undefined ? undefined : diffMaps(parse(ta), parse(tb));
  };
  const environment = await diff('build-environment', parseEnvironment);
  const systemPackages = await diff('system-packages', parseSystemPackages);
  const [sa, sb] = [await text(a, 'opam-switch'), await text(b, 'opam-switch')];
  const opam = sa !== undefined && sb !== undefined ? compareOpamSwitches(sa, sb) : undefined;
  return {
    a,
    b,
    ...(environment ? { environment } : {}),
    ...(systemPackages ? { systemPackages } : {}),
    ...(opam ? { opamPackages: opam.packages, opam } : {}),
  };
}

interface Part {
  id: string;
  title: string;
  count: number;
  body: Html;
}

const kv = (list: { name: string; value: string }[]) => h`<pre class="code-diff">${list.map((x) => `${x.name} ${x.value}\n`).join('')}</pre>`;
const changes = (list: { name: string; from: string; to: string }[], sep = ' ') =>
  h`<pre class="code-diff">${list.map((x) => `${x.name}${sep}${x.from}->${x.to}\n`).join('')}</pre>`;

function parts(d: CompareData): Part[] {
  const out: Part[] = [];
  const o = d.opam;
  if (o) {
    out.push(
      { id: 'opam-packages-removed', title: 'Opam packages removed', count: o.packages.removed.length, body: h`<pre class="code-diff">${o.packages.removed.map((x) => `${x.name}.${x.value}\n`).join('')}</pre>` },
      { id: 'opam-packages-installed', title: 'New opam packages installed', count: o.packages.added.length, body: h`<pre class="code-diff">${o.packages.added.map((x) => `${x.name}.${x.value}\n`).join('')}</pre>` },
      { id: 'opam-packages-version-diff', title: 'Opam packages with version changes', count: o.packages.changed.length, body: changes(o.packages.changed, '.') },
    );
    if (o.duniverse) {
      const du = o.duniverse;
      out.push(
        { id: 'duniverse-dirs-removed', title: 'Duniverse directories removed', count: du.removed.length, body: h`<pre class="code-diff">${du.removed.map((x) => `${x.dir} (${x.url})\n`).join('')}</pre>` },
        { id: 'duniverse-dirs-installed', title: 'New duniverse directories installed', count: du.added.length, body: h`<pre class="code-diff">${du.added.map((x) => `${x.dir} (${x.url})\n`).join('')}</pre>` },
        {
          id: 'duniverse-dirs-content-diff',
          title: 'Duniverse directories with content changes',
          count: du.changed.length,
          body: h`<pre class="code-diff">${du.changed
            .map((x) => `${x.dir} (${x.urlLeft}${x.urlRight ? `->${x.urlRight}` : ''}) ${x.hashes.map((hh) => `${hh.left ?? 'NONE'}->${hh.right ?? 'NONE'}`).join(', ')}\n`)
            .join('')}</pre>`,
        },
      );
    }
    out.push({
      id: 'opam-packages-opam-diff',
      title: 'Opam packages with changes in their opam file',
      count: o.opamFiles.length,
      body: h`${o.opamFiles.map((f) => h`<h4>${f.package}</h4><pre class="opam-diff">${f.diff.split('\n').map((l) => h`<span class="${l.startsWith('+') && !l.startsWith('+++') ? 'add' : l.startsWith('-') && !l.startsWith('---') ? 'del' : l.startsWith('@@') ? 'hunk' : ''}">${l}\n</span>`)}</pre>`)}`,
    });
  }
  const e = d.environment;
  if (e) {
    out.push(
      { id: 'env-removed', title: 'Environment variables removed', count: e.removed.length, body: kv(e.removed) },
      { id: 'env-added', title: 'New environment variables added', count: e.added.length, body: kv(e.added) },
      { id: 'env-changed', title: 'Environment variables changed', count: e.changed.length, body: changes(e.changed) },
    );
  }
  const p = d.systemPackages;
  if (p) {
    out.push(
      { id: 'pkgs-removed', title: 'System packages removed', count: p.removed.length, body: kv(p.removed) },
      { id: 'pkgs-added', title: 'New system packages added', count: p.added.length, body: kv(p.added) },
      { id: 'pkgs-changed', title: 'System packages changed', count: p.changed.length, body: changes(p.changed) },
    );
  }
  return out;
}

export function comparePage(d: CompareData): string {
  const side = (x: BuildRecord) => h`<a href="${buildLink(x)}">${x.job}@${time(x.start)} on ${x.platform}</a>`;
  const all = parts(d);
  const shown = all.filter((x) => x.count > 0);
  const missing = [
    !d.opam ? 'opam-switch' : '',
    !d.environment ? 'build-environment' : '',
    !d.systemPackages ? 'system-packages' : '',
  ].filter(Boolean);
  return page(
    'Comparing builds',
    h`<nav class="crumbs" aria-label="breadcrumbs"><a href="/">Home</a> › <a href="/compare/${d.a.uuid}/${d.b.uuid}">Comparison</a></nav>
<h1>Comparing builds</h1><p class="compare-sides">Builds ${side(d.a)} and ${side(d.b)}</p>
<p class="reverse"><a href="/compare/${d.b.uuid}/${d.a.uuid}">Compare in reverse direction</a></p>
${missing.length ? h`<p class="empty">Not in both builds: ${missing.join(', ')}.</p>` : h``}
${shown.length ? h`<ul class="compare-counts">${shown.map((x) => h`<li><a href="#${x.id}">${x.count} ${x.title}</a></li>`)}</ul>` : h`<p>No differences.</p>`}
${shown.map((x) => h`<section class="diff" id="${x.id}"><h2>${x.title}</h2>${x.body}</section>`)}`,
  );
}
