// `/job/:job/build/:uuid` and `/compare/:a/:b`: the data (also served as JSON) and its HTML.
import type { BuildRecord } from './build-record.ts';
import { resultText } from './build-record.ts';
import type { BuildStore } from './build-store.ts';
import type { Diff } from './compare.ts';
import { diffMaps, parseEnvironment, parseOpamSwitch, parseSystemPackages } from './compare.ts';
import { duration, enc, encPath, h, hash, page, size, time, type Html } from './html.ts';
import type { LifecycleStep } from './live-state.ts';
import { lifecycleSvg } from './view-lifecycle.ts';
import { buildLink } from './view-jobs.ts';

export interface BuildData {
  build: BuildRecord;
  reproducedBy: BuildRecord[];
  sameInputDifferentOutput: BuildRecord[];
  previous?: BuildRecord;
  next?: BuildRecord;
  lifecycle?: LifecycleStep[];
}

export function buildData(store: BuildStore, b: BuildRecord, lifecycle: LifecycleStep[] | undefined): BuildData {
  return {
    build: b,
    reproducedBy: store.reproducedBy(b),
    sameInputDifferentOutput: store.sameInputDifferentOutput(b),
    ...store.neighbours(b),
    ...(lifecycle ? { lifecycle } : {}),
  };
}

function buildList(bs: BuildRecord[]): Html {
  return h`<ul>${bs.map((o) => h`<li><a href="${buildLink(o)}">${o.job} ${time(o.start)}</a> on ${o.platform}</li>`)}</ul>`;
}

export function buildPage(d: BuildData): string {
  const b = d.build;
  const base = buildLink(b);
  const tombstone = b.deleted
    ? h`<p class="notice">This build was removed by retention on ${time(b.deleted)}; its hashes are kept, its files may be gone.</p>`
    : h``;
  const artifacts = b.artifacts.map(
    (a) => h`<tr><td data-label="File"><a href="${base}/f/${encPath(a.path)}">${a.path}</a>${a === b.mainBinary || a.path === b.mainBinary?.path ? h` <span class="tag">main binary</span>` : h``}</td>
<td data-label="Size">${size(a.size)}</td><td data-label="SHA-256">${hash(a.sha256)}</td></tr>`,
  );
  const reproduced = b.mainBinary
    ? d.reproducedBy.length > 0
      ? h`<section class="reproduced"><h2>Reproduced by ${d.reproducedBy.length} build${d.reproducedBy.length === 1 ? '' : 's'}</h2>${buildList(d.reproducedBy)}</section>`
      : h`<section class="reproduced"><h2>Not reproduced by another build yet</h2></section>`
    : h``;
  const different = d.sameInputDifferentOutput.length > 0
    ? h`<section class="warning"><h2>Same input, different output (not reproducible!)</h2>${buildList(d.sameInputDifferentOutput)}</section>`
    : h``;
  const compare = [
    d.previous ? h`<li><a href="/compare/${d.previous.uuid}/${b.uuid}">with the previous build</a> (${time(d.previous.start)})</li>` : h``,
    d.next ? h`<li><a href="/compare/${b.uuid}/${d.next.uuid}">with the next build</a> (${time(d.next.start)})</li>` : h``,
  ];
  const lifecycle = d.lifecycle && d.lifecycle.length > 0 ? h`<section><h2>Lifecycle</h2>${lifecycleSvg(d.lifecycle, b.finish)}</section>` : h``;
  return page(
    `${b.job} ${b.uuid}`,
    h`<h1><a href="/job/${enc(b.job)}">${b.job}</a> build</h1>${tombstone}
<dl class="facts"><dt>UUID</dt><dd><code>${b.uuid}</code></dd><dt>Platform</dt><dd>${b.platform}</dd>
<dt>Started</dt><dd>${time(b.start)}</dd><dt>Duration</dt><dd>${duration(b.finish - b.start)}</dd>
<dt>Result</dt><dd class="${b.mainBinary ? 'ok' : 'fail'}">${resultText(b.result)}</dd>
<dt>Logs</dt><dd><a href="${base}/console">console</a> (${b.console.lines} lines) · <a href="${base}/script">script</a> · <a href="${base}/exec">exec</a> · <a href="${base}/all.tar.gz">all.tar.gz</a></dd>
${b.inputId ? h`<dt>Input id</dt><dd>${hash(b.inputId)}</dd>` : h``}</dl>
${reproduced}${different}
<section><h2>Artifacts</h2>${b.artifacts.length === 0 ? h`<p class="empty">None.</p>` : h`<table class="cards"><thead><tr><th>File</th><th>Size</th><th>SHA-256</th></tr></thead><tbody>${artifacts}</tbody></table>`}</section>
${d.previous || d.next ? h`<section><h2>Compare</h2><ul>${compare}</ul></section>` : h``}${lifecycle}`,
  );
}

export interface CompareData {
  a: BuildRecord;
  b: BuildRecord;
  environment?: Diff;
  systemPackages?: Diff;
  opamPackages?: Diff;
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
  const opamPackages = await diff('opam-switch', parseOpamSwitch);
  return {
    a,
    b,
    ...(environment ? { environment } : {}),
    ...(systemPackages ? { systemPackages } : {}),
    ...(opamPackages ? { opamPackages } : {}),
  };
}

function diffSection(title: string, d: Diff | undefined): Html {
  if (!d) return h`<section><h2>${title}</h2><p class="empty">Not in both builds.</p></section>`;
  const none = d.added.length + d.removed.length + d.changed.length === 0;
  return h`<section class="diff"><h2>${title}</h2>${none ? h`<p>No differences.</p>` : h``}
${d.added.length ? h`<h3>Added (${d.added.length})</h3><ul class="added">${d.added.map((x) => h`<li><code>${x.name}</code> ${x.value}</li>`)}</ul>` : h``}
${d.removed.length ? h`<h3>Removed (${d.removed.length})</h3><ul class="removed">${d.removed.map((x) => h`<li><code>${x.name}</code> ${x.value}</li>`)}</ul>` : h``}
${d.changed.length ? h`<h3>Changed (${d.changed.length})</h3><ul class="changed">${d.changed.map((x) => h`<li><code>${x.name}</code> ${x.from} → ${x.to}</li>`)}</ul>` : h``}
</section>`;
}

export function comparePage(d: CompareData): string {
  const side = (x: BuildRecord) => h`<a href="${buildLink(x)}">${x.job} ${time(x.start)}</a> on ${x.platform}`;
  return page(
    'Compare builds',
    h`<h1>Compare builds</h1><p>${side(d.a)} → ${side(d.b)}</p>
${diffSection('Build environment', d.environment)}${diffSection('System packages', d.systemPackages)}${diffSection('Opam packages', d.opamPackages)}`,
  );
}
