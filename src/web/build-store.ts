// The web metadata: named sub-databases in the server's LMDB environment, artifacts on disk by hash.
// Indexes keep the pages cheap: builds per job in time order, per artifact hash, per main-binary hash,
// per input id, failed builds, and the latest successful build per (job, platform).
import { readFile } from 'node:fs/promises';
import type { Database, RootDatabase } from 'lmdb';
import type { Exec, Result, ScriptJob } from '../protocol/types.ts';
import { uuidToString } from '../protocol/uuid.ts';
import { ArtifactStore, type BlobSource } from './artifact-store.ts';
import type { ArtifactRef, BuildRecord, JobRecord } from './build-record.ts';
import { sectionOf, successful } from './build-record.ts';
import { encodeConsole } from './console-blob.ts';
import { webErrors } from '../errors/web-error.ts';
import { defaultHasher, type Hasher } from './hasher.ts';
import { jobFacts, readmeSection, type JobFacts } from './job-facts.ts';

const MAX = Number.MAX_SAFE_INTEGER;
// plain msgpack maps, no shared record structures, as the server's store: safe with aborted
// transactions and with other processes (builder vacuum beside a running server)
export const PLAIN = { encoder: { useRecords: false } } as const;
type Key = (string | number)[];

function isSkipped(path: string): boolean {
  const base = path.split('/').pop() ?? path;
  return path === 'README.md' || base.endsWith('.build-hashes');
}

/** A finished job with its contents hashed but not stored: what record() and an upload's spool both produce. */
export interface PreparedBuild {
  uuid: string;
  job: ScriptJob;
  started: Date;
  finished: Date;
  result: Result;
  files: { path: string; sha256: string; size: number }[];
  console: { sha256: string; size: number; lines: number };
  /** the content of every hash above */
  blobs: Map<string, BlobSource>;
  /** the text of the files whose content goes into the job's metadata */
  texts: { 'README.md'?: string; 'opam-switch'?: string };
}

/** Files whose text record() keeps (see PreparedBuild.texts). */
export const TEXT_FILES = ['README.md', 'opam-switch'] as const;

export interface VacuumPolicy {
  kind: 'older-than' | 'except-latest' | 'except-latest-successful';
  /** ms since the epoch, for older-than */
  before?: number;
  /** for except-latest* */
  keep?: number;
  job?: string;
  platform?: string;
}

export class BuildStore {
  readonly artifacts: ArtifactStore;
  readonly hasher: Hasher;
  private readonly builds: Database<BuildRecord, string>;
  private readonly jobs: Database<JobRecord, string>;
  private readonly byJob: Database<null, Key>;
  private readonly byHash: Database<string, Key>;
  private readonly byMain: Database<string, Key>;
  private readonly byInput: Database<string, Key>;
  private readonly failed: Database<string, Key>;
  private readonly latest: Database<string, Key>;
  private readonly blobRefs: Database<number, string>;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly root: RootDatabase,
    readonly dataDir: string,
    hasher?: Hasher,
  ) {
    this.artifacts = new ArtifactStore(dataDir);
    this.hasher = hasher ?? defaultHasher;
    this.builds = root.openDB<BuildRecord, string>({ name: 'web-build', ...PLAIN });
    this.jobs = root.openDB<JobRecord, string>({ name: 'web-job', ...PLAIN });
    this.byJob = root.openDB<null, Key>({ name: 'web-job-build', ...PLAIN });
    this.byHash = root.openDB<string, Key>({ name: 'web-hash', ...PLAIN });
    this.byMain = root.openDB<string, Key>({ name: 'web-main', ...PLAIN });
    this.byInput = root.openDB<string, Key>({ name: 'web-input', ...PLAIN });
    this.failed = root.openDB<string, Key>({ name: 'web-failed', ...PLAIN });
    this.latest = root.openDB<string, Key>({ name: 'web-latest', ...PLAIN });
    this.blobRefs = root.openDB<number, string>({ name: 'web-blob-ref', ...PLAIN });
  }

  /** Blob writes and their reference counts go one at a time, so retention never unlinks a blob being reused. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Stores a finished job (an upload or our own server's); 409 when the uuid is known. */
  async record(exec: Exec): Promise<BuildRecord> {
    const uuid = uuidToString(exec.uuid);
    if (this.builds.get(uuid)) throw webErrors.duplicateBuild(uuid);
    const hashes = await Promise.all(exec.files.map((f) => this.hasher(f.data)));
    const consoleBlob = encodeConsole(exec.console);
    const consoleSha = await this.hasher(consoleBlob);
    const blobs = new Map<string, BlobSource>();
    exec.files.forEach((f, i) => blobs.set(hashes[i]!, f.data));
    blobs.set(consoleSha, consoleBlob);
    const texts: PreparedBuild['texts'] = {};
    for (const f of exec.files) if ((TEXT_FILES as readonly string[]).includes(f.path)) texts[f.path as (typeof TEXT_FILES)[number]] = Buffer.from(f.data).toString('utf8');
    return this.recordPrepared({
      uuid,
      job: exec.job,
      started: exec.started,
      finished: exec.finished,
      result: exec.result,
      files: exec.files.map((f, i) => ({ path: f.path, sha256: hashes[i]!, size: f.data.length })),
      console: { sha256: consoleSha, size: consoleBlob.length, lines: exec.console.length },
      blobs,
      texts,
    });
  }

  /** Stores a build whose contents are hashed (their blobs are written here); 409 when the uuid is known. */
  async recordPrepared(p: PreparedBuild): Promise<BuildRecord> {
    const { uuid, blobs } = p;
    if (this.builds.get(uuid)) throw webErrors.duplicateBuild(uuid);
    const artifacts: ArtifactRef[] = [];
    const extraFiles: ArtifactRef[] = [];
    const readme = p.texts['README.md'];
    const opamSwitch = p.texts['opam-switch'];
    const facts: JobFacts = opamSwitch !== undefined ? jobFacts(opamSwitch) : {};
    for (const f of p.files) (isSkipped(f.path) ? extraFiles : artifacts).push({ path: f.path, sha256: f.sha256, size: f.size });
    const bins = artifacts.filter((a) => a.path.startsWith('bin/'));
    const byPath = new Map(artifacts.map((a) => [a.path, a.sha256]));
    const inputParts = ['opam-switch', 'build-environment', 'system-packages'].map((p) => byPath.get(p));
    const inputId = inputParts.every((h) => h !== undefined)
      ? await this.hasher(Buffer.concat(inputParts.map((h) => Buffer.from(h!, 'hex'))))
      : undefined;
    const build: BuildRecord = {
      uuid,
      job: p.job.name,
      platform: p.job.platform ?? 'no-platform',
      script: p.job.script,
      start: p.started.getTime(),
      finish: p.finished.getTime(),
      result: p.result,
      artifacts,
      extraFiles,
      ...(bins.length === 1 ? { mainBinary: bins[0]! } : {}),
      ...(inputId ? { inputId } : {}),
      console: { ...p.console },
    };
    return this.serial(async () => {
      // blobs this build brought, removed again if it is not recorded (a full disk): nothing half stored
      const brought: string[] = [];
      try {
        for (const [sha, data] of blobs) {
          if (await this.artifacts.has(sha)) continue;
          brought.push(sha);
          await this.artifacts.put(sha, data);
        }
        this.root.transactionSync(() => {
          if (this.builds.get(uuid)) throw webErrors.duplicateBuild(uuid);
          this.insert(build, [...blobs.keys()], readme, facts);
        });
      } catch (e) {
        for (const sha of brought) if (this.blobRefs.get(sha) === undefined) await this.artifacts.remove(sha).catch(() => undefined);
        throw e;
      }
      return build;
    });
  }

  private insert(b: BuildRecord, blobShas: string[], readme: string | undefined, facts: JobFacts = {}): void {
    this.builds.putSync(b.uuid, b);
    const job = this.jobs.get(b.job);
    if (!job || readme !== undefined || facts.section !== undefined || facts.synopsis !== undefined) {
      const text = readme ?? job?.readme;
      const synopsis = facts.synopsis ?? job?.synopsis;
      this.jobs.putSync(b.job, {
        name: b.job,
        ...(text !== undefined ? { readme: text } : {}),
        section: readmeSection(text) ?? facts.section ?? (job && job.section !== 'Uncategorized' ? job.section : sectionOf(text)),
        ...(synopsis !== undefined ? { synopsis } : {}),
        created: job?.created ?? b.start,
      });
    }
    this.byJob.putSync([b.job, b.start, b.uuid], null);
    for (const a of b.artifacts) this.byHash.putSync([a.sha256, b.start, b.uuid], a.path);
    if (b.mainBinary) {
      this.byMain.putSync([b.mainBinary.sha256, b.start, b.uuid], b.inputId ?? '');
      const cur = this.latest.get([b.job, b.platform]);
      const curStart = cur ? this.builds.get(cur)?.start ?? -1 : -1;
      if (b.start >= curStart) this.latest.putSync([b.job, b.platform], b.uuid);
    } else {
      this.failed.putSync([b.start, b.uuid], b.job);
    }
    if (b.inputId) this.byInput.putSync([b.job, b.inputId, b.start, b.uuid], b.mainBinary?.sha256 ?? '');
    for (const sha of new Set(blobShas)) this.blobRefs.putSync(sha, (this.blobRefs.get(sha) ?? 0) + 1);
  }

  build(uuid: string): BuildRecord | undefined {
    return this.builds.get(uuid);
  }

  job(name: string): JobRecord | undefined {
    return this.jobs.get(name);
  }

  jobNames(): string[] {
    return [...this.jobs.getKeys()];
  }

  /** The job's (live) builds, newest first. */
  jobBuilds(job: string, platform?: string): BuildRecord[] {
    const out: BuildRecord[] = [];
    for (const key of this.byJob.getKeys({ start: [job, MAX], end: [job, -MAX], reverse: true })) {
      const b = this.builds.get(key[2] as string);
      if (b && !b.deleted && (!platform || b.platform === platform)) out.push(b);
    }
    return out;
  }

  /** Newest successful build per platform of a job. */
  latestPerPlatform(job: string): BuildRecord[] {
    const out: BuildRecord[] = [];
    for (const { value } of this.latest.getRange({ start: [job, ''], end: [job, '\uffff'] })) {
      const b = this.builds.get(value);
      if (b && !b.deleted) out.push(b);
    }
    return out;
  }

  latestSuccessful(job: string, platform?: string): BuildRecord | undefined {
    const all = this.latestPerPlatform(job).filter((b) => !platform || b.platform === platform);
    return all.sort((a, b) => b.start - a.start)[0];
  }

  /** Builds holding an artifact with this hash, newest first; builds removed by retention come last. */
  buildsWithHash(sha256: string): { build: BuildRecord; path: string }[] {
    const out: { build: BuildRecord; path: string }[] = [];
    for (const { key, value } of this.byHash.getRange({ start: [sha256, MAX], end: [sha256, -MAX], reverse: true })) {
      const b = this.builds.get(key[2] as string);
      if (b) out.push({ build: b, path: value });
    }
    return out.sort((x, y) => Number(!!x.build.deleted) - Number(!!y.build.deleted));
  }

  /** Other builds with the same main binary: every one with the same input, and the newest per other input. */
  reproducedBy(b: BuildRecord): BuildRecord[] {
    if (!b.mainBinary) return [];
    const sha = b.mainBinary.sha256;
    const seenInputs = new Set<string>();
    const out: BuildRecord[] = [];
    for (const { key, value: input } of this.byMain.getRange({ start: [sha, MAX], end: [sha, -MAX], reverse: true })) {
      if (key[2] === b.uuid) continue;
      const other = this.builds.get(key[2] as string);
      if (!other || other.deleted) continue;
      const same = b.inputId !== undefined && input === b.inputId;
      if (!same) {
        if (seenInputs.has(input)) continue;
        seenInputs.add(input);
      }
      out.push(other);
    }
    return out;
  }

  /** Builds of the same job with the same input id but another (or no) main binary: not reproducible. */
  sameInputDifferentOutput(b: BuildRecord): BuildRecord[] {
    if (!b.inputId) return [];
    const out: BuildRecord[] = [];
    const range = this.byInput.getRange({ start: [b.job, b.inputId, MAX], end: [b.job, b.inputId, -MAX], reverse: true });
    for (const { key, value: main } of range) {
      if (key[3] === b.uuid || main === (b.mainBinary?.sha256 ?? '')) continue;
      const other = this.builds.get(key[3] as string);
      if (other && !other.deleted) out.push(other);
    }
    return out;
  }

  /** The previous and next build of the same job on the same platform. */
  neighbours(b: BuildRecord): { previous?: BuildRecord; next?: BuildRecord } {
    const find = (reverse: boolean) => {
      const range = reverse
        ? this.byJob.getKeys({ start: [b.job, b.start, b.uuid], end: [b.job, -MAX], reverse: true })
        : this.byJob.getKeys({ start: [b.job, b.start, b.uuid], end: [b.job, MAX] });
      for (const key of range) {
        if (key[2] === b.uuid) continue;
        const o = this.builds.get(key[2] as string);
        if (o && !o.deleted && o.platform === b.platform) return o;
      }
      return undefined;
    };
    const previous = find(true);
    const next = find(false);
    return { ...(previous ? { previous } : {}), ...(next ? { next } : {}) };
  }

  /** builder-web's comparisons: the nearest earlier and later successful build on the same platform whose main binary differs. */
  differentOutputNeighbours(b: BuildRecord): { previous?: BuildRecord; next?: BuildRecord } {
    const find = (reverse: boolean) => {
      const range = reverse
        ? this.byJob.getKeys({ start: [b.job, b.start, b.uuid], end: [b.job, -MAX], reverse: true })
        : this.byJob.getKeys({ start: [b.job, b.start, b.uuid], end: [b.job, MAX] });
      for (const key of range) {
        if (key[2] === b.uuid) continue;
        const o = this.builds.get(key[2] as string);
        if (o && !o.deleted && o.platform === b.platform && o.mainBinary && o.mainBinary.sha256 !== b.mainBinary?.sha256) return o;
      }
      return undefined;
    };
    const previous = find(true);
    const next = find(false);
    return { ...(previous ? { previous } : {}), ...(next ? { next } : {}) };
  }

  /** Failed builds, newest first; with a platform, only those of that platform (`start` counts those). */
  failedBuilds(start: number, count: number, platform?: string): BuildRecord[] {
    const out: BuildRecord[] = [];
    const range = platform
      ? this.failed.getKeys({ start: [MAX], end: [-MAX], reverse: true })
      : this.failed.getKeys({ start: [MAX], end: [-MAX], reverse: true, offset: start, limit: count });
    let skip = platform ? start : 0;
    for (const key of range) {
      const b = this.builds.get(key[1] as string);
      if (!b || (platform && b.platform !== platform)) continue;
      if (skip > 0) {
        skip--;
        continue;
      }
      out.push(b);
      if (out.length >= count) break;
    }
    return out;
  }

  readBlob(sha256: string): Promise<Buffer> {
    return readFile(this.artifacts.path(sha256));
  }

  /** Retention: marks the matching builds deleted, keeps their metadata and hashes, unlinks unshared files. */
  vacuum(policy: VacuumPolicy): Promise<BuildRecord[]> {
    return this.serial(async () => {
      const victims = this.plan(policy);
      const orphans: string[] = [];
      const now = Date.now();
      // in slices: LMDB has one write lock, and the server's commits wait while a slice holds it
      for (let i = 0; i < victims.length; i += VACUUM_SLICE) {
        this.root.transactionSync(() => {
          for (const v of victims.slice(i, i + VACUUM_SLICE)) this.markDeleted(v.uuid, now, orphans);
        });
      }
      // an upload between the slices may have brought a hash back
      for (const sha of orphans) if (this.blobRefs.get(sha) === undefined) await this.artifacts.remove(sha);
      return victims;
    });
  }

  /** Inside a write transaction: one build marked deleted, its indexes and blob references dropped. */
  private markDeleted(uuid: string, now: number, orphans: string[]): void {
    const b = this.builds.get(uuid);
    if (!b || b.deleted) return;
    this.builds.putSync(b.uuid, { ...b, deleted: now });
    this.byJob.removeSync([b.job, b.start, b.uuid]);
    if (b.mainBinary) this.byMain.removeSync([b.mainBinary.sha256, b.start, b.uuid]);
    else this.failed.removeSync([b.start, b.uuid]);
    if (b.inputId) this.byInput.removeSync([b.job, b.inputId, b.start, b.uuid]);
    const shas = new Set([...b.artifacts, ...b.extraFiles].map((a) => a.sha256).concat(b.console.sha256));
    for (const sha of shas) {
      const n = (this.blobRefs.get(sha) ?? 1) - 1;
      if (n > 0) this.blobRefs.putSync(sha, n);
      else {
        this.blobRefs.removeSync(sha);
        orphans.push(sha);
      }
    }
    if (this.latest.get([b.job, b.platform]) === b.uuid) {
      const next = this.jobBuilds(b.job, b.platform).find(successful);
      if (next) this.latest.putSync([b.job, b.platform], next.uuid);
      else this.latest.removeSync([b.job, b.platform]);
    }
  }

  /** The builds a policy would remove, without removing them. */
  plan(p: VacuumPolicy): BuildRecord[] {
    const jobs = p.job ? [p.job] : this.jobNames();
    const victims: BuildRecord[] = [];
    for (const job of jobs) {
      const groups = new Map<string, BuildRecord[]>();
      for (const b of this.jobBuilds(job, p.platform)) {
        const g = groups.get(b.platform) ?? [];
        g.push(b);
        groups.set(b.platform, g);
      }
      for (const builds of groups.values()) {
        if (p.kind === 'older-than') victims.push(...builds.filter((b) => b.start < (p.before ?? 0)));
        else if (p.kind === 'except-latest') victims.push(...builds.slice(p.keep ?? 0));
        else {
          // as builder-db: everything older than the N-th newest successful build
          const nth = builds.filter(successful)[(p.keep ?? 0) - 1];
          if (nth) victims.push(...builds.filter((b) => b.start < nth.start));
        }
      }
    }
    return victims;
  }
}

/** Builds marked deleted per vacuum transaction. */
const VACUUM_SLICE = 100;

const stores = new WeakMap<RootDatabase, BuildStore>();

/** One BuildStore per LMDB environment (its sub-databases are opened once). */
export function buildStoreFor(root: RootDatabase, dataDir: string, hasher?: Hasher): BuildStore {
  let s = stores.get(root);
  if (!s) {
    s = new BuildStore(root, dataDir, hasher);
    stores.set(root, s);
  }
  return s;
}
