// The one way a finished job enters the web store: an HTTP upload or our own server, in process.
import type { RootDatabase } from 'lmdb';
import type { Exec } from '../protocol/types.ts';
import type { BuildRecord } from './build-record.ts';
import { buildStoreFor, type PreparedBuild } from './build-store.ts';
import type { Hasher } from './hasher.ts';
import { runUploadHooks, type HookRun } from './upload-hooks.ts';
import { vizCacheFor } from './viz-cache.ts';

export interface RecordBuildOptions {
  root: RootDatabase;
  dataDir: string;
  /** where upload-hooks/ lives; no hooks without it */
  configDir?: string;
  hasher?: Hasher;
  /** told about hooks that exit non-zero */
  log?: (line: string) => void;
}

export interface RecordedBuild {
  build: BuildRecord;
  /** The upload hooks, run after the build is stored; resolves when they are done. */
  hooks: Promise<HookRun[]>;
  /** The visualizations, computed in the background after the build is stored; never rejects. */
  visualizations: Promise<void>;
}

/** Stores a finished job; throws WebError ERR_WEB_DUPLICATE_BUILD (409) when its uuid is known. */
export async function recordBuild(exec: Exec | PreparedBuild, opts: RecordBuildOptions): Promise<RecordedBuild> {
  const store = buildStoreFor(opts.root, opts.dataDir, opts.hasher);
  const build = 'blobs' in exec ? await store.recordPrepared(exec) : await store.record(exec);
  const hooks = build.mainBinary
    ? runUploadHooks(opts.configDir, build, opts.dataDir, store.artifacts.path(build.mainBinary.sha256)).then((runs) => {
        for (const r of runs) if (r.exitCode !== 0) opts.log?.(`upload hook ${r.hook} exited ${r.exitCode}: ${r.output.trim()}`);
        return runs;
      })
    : Promise.resolve([]);
  const visualizations = vizCacheFor(store).prepare(build, opts.log);
  return { build, hooks, visualizations };
}
