// The JSON of builder-web's pages (`Accept: application/json`), with its key names, nesting and
// times, so scripts written against builds.robur.coop keep working; our own fields follow beside.
import type { BuildRecord } from './build-record.ts';
import type { CompareData } from './view-build.ts';
import type { Diff } from './compare.ts';
import type { IndexData, JobData } from './view-jobs.ts';
import type { BuildData } from './view-build.ts';
import type { Solo5Info } from './solo5-manifest.ts';

/** RFC 3339 as builder-web prints it (Ptime.to_rfc3339: seconds, offset "-00:00"). */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + '-00:00';
}

const basename = (p: string) => p.split('/').pop() ?? p;

function mainBinaryJson(b: BuildRecord) {
  const m = b.mainBinary;
  return m ? { filename: basename(m.path), sha256: m.sha256, size: m.size } : null;
}

/** builder-web's `solo5_manifest` and `solo5_abi` of a main binary that has them. */
function solo5Json(info: Solo5Info | null | undefined) {
  return info ? { solo5_manifest: info.manifest, solo5_abi: info.abi } : {};
}

/** `solo5`: the Solo5 notes of a build's main binary, when known (null or undefined: none). */
export function indexJson(d: IndexData, solo5: (b: BuildRecord) => Solo5Info | null | undefined = () => undefined) {
  const job = (j: IndexData['sections'][number]['jobs'][number], section: string) => {
    // builder-web's `latest`: the job's newest build with a main binary, when that has Solo5 notes
    const newest = j.latest.reduce<BuildRecord | undefined>((a, b) => (!a || b.start > a.start ? b : a), undefined);
    const info = newest ? solo5(newest) : undefined;
    return {
      name: j.name,
      synopsis: j.synopsis ?? null,
      ...(newest && info ? { latest: { uuid: newest.uuid, ...solo5Json(info) } } : {}),
      // ours: the section and the latest build per platform
      section,
      platforms: j.latest.map((b) => ({
        platform: b.platform,
        uuid: b.uuid,
        start_time: rfc3339(b.start),
        finish_time: rfc3339(b.finish),
        main_binary: mainBinaryJson(b),
      })),
    };
  };
  return {
    jobs: d.sections.flatMap((s) => s.jobs.map((j) => job(j, s.section))),
    jobs_by_section: Object.fromEntries(d.sections.map((s) => [s.section, s.jobs.map((j) => job(j, s.section))])),
    ...d,
  };
}

export function jobJson(d: JobData) {
  const entries: { b: BuildRecord; main: boolean }[] = d.binaries.map((g) => ({ b: g.builds[0]!, main: true }));
  for (const b of d.failed ?? []) entries.push({ b, main: false });
  entries.sort((x, y) => y.b.start - x.b.start);
  return {
    builds: entries.map(({ b }) => ({
      uuid: b.uuid,
      main_binary: mainBinaryJson(b),
      // ours
      platform: b.platform,
      start_time: rfc3339(b.start),
    })),
    ...d,
  };
}

function buildSummary(b: BuildRecord) {
  return {
    job: b.job,
    uuid: b.uuid,
    platform: b.platform,
    start_time: rfc3339(b.start),
    finish_time: rfc3339(b.finish),
    main_binary: b.mainBinary !== undefined,
  };
}

export function buildJson(d: BuildData) {
  return { ...buildSummary(d.build), ...solo5Json(d.solo5), ...d };
}

/**
 * builder-web's (added, removed, changed) triple, under its names: `left_packages` holds what only
 * the right build has (added), `right_packages` what only the left one has (removed), as
 * builds.robur.coop answers, so scripts reading it get the same lists here.
 */
function diffJson(diff: Diff | undefined) {
  if (!diff) return null;
  return {
    left_packages: diff.added.map((x) => ({ name: x.name, version: x.value })),
    right_packages: diff.removed.map((x) => ({ name: x.name, version: x.value })),
    different_versions: diff.changed.map((x) => ({ name: x.name, version_left: x.from, version_right: x.to })),
  };
}

export function compareJson(d: CompareData) {
  const side = (b: BuildRecord) => ({ ...buildSummary(b), main_binary_size: b.mainBinary?.size ?? null });
  const o = d.opam;
  const pkgs = (list: { name: string; value: string }[]) => list.map((x) => ({ name: x.name, version: x.value }));
  return {
    left: side(d.a),
    right: side(d.b),
    env_diff: diffJson(d.environment),
    package_diff: diffJson(d.systemPackages),
    opam_diff: o
      ? {
          opam_diff: o.opamFiles.map((f) => ({ package_version: f.package, effectively_equal: false, diff: f.diff })),
          version_diff: o.packages.changed.map((x) => ({ name: x.name, version_left: x.from, version_right: x.to })),
          only_in_left: pkgs(o.packages.removed),
          only_in_right: pkgs(o.packages.added),
          duniverse_diff: o.duniverse
            ? {
                left: o.duniverse.removed.map((x) => ({ name: x.dir, value: x.url })),
                right: o.duniverse.added.map((x) => ({ name: x.dir, value: x.url })),
                detailed_diff: o.duniverse.changed.map((x) => ({ name: x.dir })),
              }
            : (o.duniverseError ?? 'no duniverse directories'),
        }
      : null,
    ...d,
  };
}
