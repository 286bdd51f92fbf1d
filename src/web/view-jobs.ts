// `/`, `/all-builds`, `/failed-builds` and `/job/:job`: the data (also served as JSON) and its HTML.
import type { BuildRecord } from './build-record.ts';
import { resultText, successful } from './build-record.ts';
import type { BuildStore } from './build-store.ts';
import { enc, encPath, h, hash, page, raw, size, time, type Html } from './html.ts';
import { readmeHtml } from './markdown.ts';

export const INDEX_MAX_AGE_MS = 30 * 24 * 3600 * 1000;

export interface IndexData {
  sections: { section: string; jobs: { name: string; synopsis?: string; latest: BuildRecord[] }[] }[];
}

export function indexData(store: BuildStore, now: number, maxAgeMs?: number): IndexData {
  const sections = new Map<string, IndexData['sections'][number]['jobs']>();
  for (const name of store.jobNames()) {
    const job = store.job(name)!;
    let latest = store.latestPerPlatform(name);
    // as builder-web's --expired-jobs: a job whose latest successful build finished longer ago is inactive
    if (maxAgeMs !== undefined) latest = latest.filter((b) => now - b.finish <= maxAgeMs);
    if (latest.length === 0) continue;
    const list = sections.get(job.section) ?? [];
    list.push({ name, ...(job.synopsis ? { synopsis: job.synopsis } : {}), latest });
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

/** builder-web's artifact line: "Download NAME (SIZE)" and the hash under it. */
export function downloadLink(b: BuildRecord, a: { path: string; size: number; sha256: string }, basename = true): Html {
  return h`<a class="download" href="${buildLink(b)}/f/${encPath(a.path)}">Download ${basename ? a.path.split('/').pop() : a.path}</a> <span class="size">(${size(a.size)})</span><br>${hash(a.sha256)}`;
}

export function indexPage(data: IndexData, all: boolean, maxAgeDays?: number): string {
  const sections = data.sections.map(
    (s) => h`<section class="index-section"><h2>${s.section}</h2>
<table class="cards jobs"><thead><tr><th>Job</th><th>Platform</th><th>Built</th><th>Main binary</th></tr></thead><tbody>
${s.jobs.flatMap((j) =>
  j.latest.map(
    (b, i) => h`<tr${i === 0 ? h` class="job-first"` : h``}><td data-label="Job">${i === 0 ? h`<a class="job" href="/job/${enc(j.name)}">${j.name}</a>${j.synopsis ? h`<div class="synopsis">${j.synopsis}</div>` : h``}` : h``}</td>
<td data-label="Platform"><a href="/job/${enc(j.name)}?platform=${enc(b.platform)}">${b.platform}</a></td>
<td data-label="Built"><a href="${buildLink(b)}">${time(b.start)}</a></td><td data-label="Main binary">${downloadLink(b, b.mainBinary!)}</td></tr>`,
  ),
)}
</tbody></table></section>`,
  );
  const intro = all
    ? h`<p>Every job with a successful build. <a href="/">Active jobs</a>.</p>`
    : h`<p>Jobs with a successful build in the last ${maxAgeDays ?? 30} days; <a href="/all-builds">all jobs</a>.</p>`;
  const empty = data.sections.length === 0 ? h`<p class="empty">No builds yet.</p>` : h``;
  const latest = h`<p>A persistent link to the latest successful build of a job: <code>/job/NAME/build/latest/</code>. <a href="/failed-builds">Latest failed builds</a>.</p>`;
  return page(all ? 'All builds' : 'Jobs', h`<h1>${all ? 'All builds' : 'Jobs'}</h1>${intro}${latest}${empty}${sections}`);
}

export function failedPage(builds: BuildRecord[], start: number, count: number, platform?: string): string {
  const rows = builds.map(
    (b) => h`<tr><td data-label="Job"><a href="/job/${enc(b.job)}">${b.job}</a></td><td data-label="Platform"><a href="/failed-builds?platform=${enc(b.platform)}">${b.platform}</a></td>
<td data-label="Started"><a href="${buildLink(b)}">${time(b.start)}</a></td><td data-label="Result">${resultText(b.result)}</td></tr>`,
  );
  const q = (s: number) => `/failed-builds?start=${s}&count=${count}${platform ? `&platform=${enc(platform)}` : ''}`;
  const prev = start > 0 ? h`<a href="${q(Math.max(0, start - count))}">newer</a>` : h``;
  const next = builds.length === count ? h`<a href="${q(start + count)}">older</a>` : h``;
  const title = platform ? `Failed builds on ${platform}` : 'Failed builds';
  if (builds.length === 0) {
    return page(title, h`<h1>No failed builds to list</h1>${platform ? h`<p>On ${platform}. <a href="/failed-builds">All platforms</a>.</p>` : h``}<p class="pager">${prev}</p>`);
  }
  return page(
    title,
    h`<h1>${title}</h1>${platform ? h`<p><a href="/failed-builds">All platforms</a></p>` : h``}<table class="cards"><thead><tr><th>Job</th><th>Platform</th><th>Started</th><th>Result</th></tr></thead>
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
  const q = d.platform ? `?platform=${enc(d.platform)}` : '';
  const filter = d.platforms.length > 1 || d.platform
    ? h`<p class="platforms">Platform: <a href="/job/${enc(d.job)}${d.failed ? '/failed' : ''}"${d.platform ? h`` : h` aria-current="true"`}>all</a> ${d.platforms.map((p) => h`<a href="/job/${enc(d.job)}${d.failed ? '/failed' : ''}?platform=${enc(p)}"${p === d.platform ? h` aria-current="true"` : h``}>${p}</a> `)}</p>`
    : h``;
  const readme = d.readme !== undefined
    ? h`<section class="readme" id="readme"><h2>README</h2><article class="markdown">${raw(readmeHtml(d.readme))}</article><p><a href="#builds">Skip to builds</a></p></section>`
    : h``;
  const binaries = d.binaries.map(
    (g) => h`<li class="binary"><div>${downloadLink(g.builds[0]!, g)}</div>
<ul>${g.builds.map((b) => h`<li><a href="${buildLink(b)}">${time(b.start)}</a> on ${b.platform}</li>`)}</ul></li>`,
  );
  const failed = d.failed
    ? h`<section><h2>Failed builds</h2>${d.failed.length === 0 ? h`<p class="empty">None.</p>` : h``}<ul>${d.failed.map(
        (b) => h`<li><a href="${buildLink(b)}">${time(b.start)}</a> on ${b.platform}: ${resultText(b.result)}</li>`,
      )}</ul><p>Excluding failed builds <a href="/job/${enc(d.job)}${q}">here</a>.</p></section>`
    : h`<p>Including failed builds <a href="/job/${enc(d.job)}/failed${q}">here</a>.</p>`;
  return page(
    `Job ${d.job}${d.platform ? ` on ${d.platform}` : ''}`,
    h`<h1>Job ${d.job}${d.platform ? h` on ${d.platform}` : h``}</h1>${filter}${readme}<section id="builds"><h2>Builds</h2>
${d.binaries.length === 0 ? h`<p class="empty">No successful build.</p>` : h`<ul class="binaries">${binaries}</ul>`}</section>${failed}`,
  );
}
