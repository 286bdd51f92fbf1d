// What the web store keeps about a build; everything JSON-friendly (times in ms since the epoch).
import type { Result } from '../protocol/types.ts';

export interface ArtifactRef {
  path: string;
  sha256: string;
  size: number;
}

export interface BuildRecord {
  uuid: string;
  job: string;
  platform: string;
  script: string;
  start: number;
  finish: number;
  result: Result;
  /** Every file but README.md and *.build-hashes, in upload order. */
  artifacts: ArtifactRef[];
  /** README.md and *.build-hashes: not artifacts, kept so /exec gives back what was uploaded. */
  extraFiles: ArtifactRef[];
  mainBinary?: ArtifactRef;
  inputId?: string;
  console: { sha256: string; size: number; lines: number };
  /** Set by retention: the files are gone (unless shared), the metadata and hashes stay. */
  deleted?: number;
}

export interface JobRecord {
  name: string;
  readme?: string;
  section: string;
  /** the root package's synopsis from the latest opam switch export */
  synopsis?: string;
  created: number;
}

export function successful(b: BuildRecord): boolean {
  return b.mainBinary !== undefined;
}

export { ppResult as resultText } from '../protocol/pretty.ts';

/** The job's section on `/`: a `section: NAME` line in its README, else "Uncategorized". */
export function sectionOf(readme: string | undefined): string {
  const m = readme?.match(/^\s*section:\s*(.+?)\s*$/im);
  return m?.[1] ?? 'Uncategorized';
}
