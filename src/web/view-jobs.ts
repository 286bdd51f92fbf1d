// `/`, `/all-builds`, `/failed-builds` and `/job/:job`: the data (also served as JSON) and its HTML.
import type { BuildRecord } from './build-record.ts';
import { resultText, successful } from './build-record.ts';
import type { BuildStore } from './build-store.ts';
import { enc, encPath, h, hash, page, size, time, type Html } from './html.ts';

export const INDEX_MAX_AGE_MS = 30 * 24 * 3600 * 1000;

export interface IndexData {
  sections: { section: string; jobs: { name: string; latest: BuildRecord[] }[] }[];
}

export function indexData(store: BuildStore, now: number, maxAgeMs?: number): IndexData {
  const sections = new Map<string, { name: string; latest: BuildRecord[] }[]>();
  for (const name of store.jobNames()) {
    const job = store.job(name)!;
    let latest = store.latestPerPlatform(name);
    if (maxAgeMs !== undefined) latest = latest.filter((b) => now - b.start <= maxAgeMs);
    if (latest.length === 0) continue;
    const list = sections.get(job.section) ?? [];
    list.push({ name, latest });
    sections.set(job.section, list);
  }
  return {
    sections: [...sections.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([section, jobs]) => ({ section, jobs })),
  };
}

export function buildLink(b: BuildRecord): string {
  return `/job/${enc(b.job)}/build/${b.uuid}`;
}

function mainBinaryCell(b: BuildRecord): Html {
  const m = b.mainBinary!;
  return h`<a href="${buildLink(b)}/f/${encPath(m.path)}">${m.path.replace(/^bin\//, '')}</a> <span class="size">${size(m.size)}</span> ${hash(m.sha256)}`;
}

export function indexPage(data: IndexData, all: boolean): string {
  const sections = data.sections.map(
    (s) => h`<section><h2>${s.section}</h2>
<table class="cards"><thead><tr><th>Job</th><th>Platform</th><th>Built</th><th>Main binary</th></tr></thead><tbody>
${s.jobs.flatMap((j) =>
  j.latest.map(
    (b) => h`<tr><td data-label="Job"><a href="/job/${enc(j.name)}">${j.name}</a></td><td data-label="Platform">${b.platform}</td>
<td data-label="Built"><a href="${buildLink(b)}">${time(b.start)}</a></td><td data-label="Main binary">${mainBinaryCell(b)}</td></tr>`,
  ),
)}
</tbody></table></section>`,
  );
  const intro = all
    ? h`<p>Every job with a successful build.</p>`
    : h`<p>Jobs with a successful build in the last 30 days; <a href="/all-builds">all jobs</a>.</p>`;
  const empty = data.sections.length === 0 ? h`<p class="empty">No builds yet.</p>` : h``;
  return page(all ? 'All builds' : 'Jobs', h`<h1>${all ? 'All builds' : 'Jobs'}</h1>${intro}${empty}${sections}`);
}

export function failedPage(builds: BuildRecord[], start: number, count: number): string {
  const rows = builds.map(
    (b) => h`<tr><td data-label="Job"><a href="/job/${enc(b.job)}">${b.job}</a></td><td data-label="Platform">${b.platform}</td>
<td data-label="Started"><a href="${buildLink(b)}">${time(b.start)}</a></td><td data-label="Result">${resultText(b.result)}</td></tr>`,
  );
  const prev = start > 0 ? h`<a href="/failed-builds?start=${Math.max(0, start - count)}&amp;count=${count}">newer</a>` : h``;
  const next = builds.length === count ? h`<a href="/failed-builds?start=${start + count}&amp;count=${count}">older</a>` : h``;
  return page(
    'Failed builds',
    h`<h1>Failed builds</h1><table class="cards"><thead><tr><th>Job</th><th>Platform</th><th>Started</th><th>Result</th></tr></thead>
<tbody>${rows}</tbody></table><p class="pager">${prev} ${next}</p>`,
  );
}

export interface JobData {
  job: string;
  readme?: string;
  platform?: string;
  platforms: string[];
  /** one entry per distinct main-binary hash, newest first */
  binaries: { sha256: string; path: string; size: number; builds: BuildRecord[] }[];
  failed?: BuildRecord[];
}

export function jobData(store: BuildStore, job: string, platform: string | undefined, withFailed: boolean): JobData | undefined {
  const record = store.job(job);
  if (!record) return undefined;
  const builds = store.jobBuilds(job);
  const shown = builds.filter((b) => !platform || b.platform === platform);
  const groups = new Map<string, JobData['binaries'][number]>();
  for (const b of shown.filter(successful)) {
    const m = b.mainBinary!;
    const g = groups.get(m.sha256) ?? { sha256: m.sha256, path: m.path, size: m.size, builds: [] };
    g.builds.push(b);
    groups.set(m.sha256, g);
  }
  return {
    job,
    ...(record.readme !== undefined ? { readme: record.readme } : {}),
    ...(platform ? { platform } : {}),
    platforms: [...new Set(builds.map((b) => b.platform))].sort(),
    binaries: [...groups.values()],
    ...(withFailed ? { failed: shown.filter((b) => !successful(b)) } : {}),
  };
}

export function jobPage(d: JobData): string {
  const filter = d.platforms.length > 1
    ? h`<p class="platforms">Platform: <a href="?">all</a> ${d.platforms.map((p) => h`<a href="?platform=${enc(p)}"${p === d.platform ? h` aria-current="true"` : h``}>${p}</a> `)}</p>`
    : h``;
  const readme = d.readme !== undefined ? h`<section class="readme"><h2>README</h2><pre>${d.readme}</pre></section>` : h``;
  const binaries = d.binaries.map(
    (g) => h`<li class="binary"><div><strong>${g.path}</strong> <span class="size">${size(g.size)}</span></div><div>${hash(g.sha256)}</div>
<ul>${g.builds.map((b) => h`<li><a href="${buildLink(b)}">${time(b.start)}</a> on ${b.platform}</li>`)}</ul></li>`,
  );
  const failed = d.failed
    ? h`<section><h2>Failed builds</h2><ul>${d.failed.map(
        (b) => h`<li><a href="${buildLink(b)}">${time(b.start)}</a> on ${b.platform}: ${resultText(b.result)}</li>`,
      )}</ul></section>`
    : h`<p><a href="/job/${enc(d.job)}/failed">Include failed builds</a></p>`;
  return page(
    d.job,
    h`<h1>Job ${d.job}</h1>${filter}${readme}<section><h2>Builds</h2>
${d.binaries.length === 0 ? h`<p class="empty">No successful build.</p>` : h`<ul class="binaries">${binaries}</ul>`}</section>${failed}`,
  );
}
