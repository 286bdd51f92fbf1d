// The visualizations of a build, computed once per input and cached as HTML files under
// <dataDir>/_cache/viz/: the dependency graph per opam-switch hash, the treemap per binary hash;
// beside them the main binary's Solo5 manifest and ABI (JSON, for the pages' JSON and the build page).
// recordBuild starts them in the background after an upload; a request for one still being
// computed waits for that same computation.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ArtifactRef, BuildRecord } from './build-record.ts';
import type { BuildStore } from './build-store.ts';
import { elfSymbols, isElf } from './elf-symbols.ts';
import { solo5Info, type Solo5Info } from './solo5-manifest.ts';
import { dependenciesHtml } from './viz-dependencies.ts';
import { treemapHtml } from './viz-treemap.ts';

export type VizKind = 'dependencies' | 'treemap';

/** Bumped when the pages change, so old cached pages are not served. */
export const VIZ_VERSION = 'v4';

export class VizCache {
  readonly dir: string;
  private readonly inflight = new Map<string, Promise<string>>();
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly store: BuildStore) {
    this.dir = join(store.dataDir, '_cache', 'viz');
  }

  /** The artifact a visualization is made from: opam-switch; a `*.debug` binary (unstripped), else the main binary. */
  source(b: BuildRecord, kind: VizKind): ArtifactRef | undefined {
    if (kind === 'dependencies') return b.artifacts.find((a) => a.path === 'opam-switch');
    return b.artifacts.find((a) => a.path.endsWith('.debug')) ?? b.mainBinary;
  }

  /**
   * Which visualizations the build page embeds. A binary found to have no symbols (once its treemap
   * was computed: a marker file says so) gets a line instead of an empty frame.
   */
  applies(b: BuildRecord): { dependencies: boolean; treemap: boolean; noSymbols?: true } {
    if (b.deleted) return { dependencies: false, treemap: false };
    const bin = this.source(b, 'treemap');
    const noSymbols = bin !== undefined && existsSync(this.noSymbolsMarker(bin.sha256));
    return {
      dependencies: this.source(b, 'dependencies') !== undefined,
      treemap: bin !== undefined && !noSymbols,
      ...(noSymbols ? { noSymbols: true as const } : {}),
    };
  }

  private noSymbolsMarker(sha256: string): string {
    return join(this.dir, `treemap-${VIZ_VERSION}-${sha256}.no-symbols`);
  }

  /** The page, from the cache or computed now (once, however many ask); undefined when it does not apply. */
  async html(b: BuildRecord, kind: VizKind): Promise<string | undefined> {
    const src = this.source(b, kind);
    if (!src) return undefined;
    const file = join(this.dir, `${kind}-${VIZ_VERSION}-${src.sha256}.html`);
    const cached = await readFile(file, 'utf8').catch(() => undefined);
    if (cached !== undefined) return cached;
    let run = this.inflight.get(file);
    if (!run) {
      run = this.compute(kind, src, file).finally(() => this.inflight.delete(file));
      this.inflight.set(file, run);
    }
    return run;
  }

  /**
   * The main binary's Solo5 manifest and ABI: null when it has none, undefined when not known yet
   * (computed after the upload; a build from before is computed now, in the background).
   */
  solo5(b: BuildRecord): Solo5Info | null | undefined {
    const bin = b.mainBinary;
    if (!bin || b.deleted) return null;
    const known = this.solo5Known.get(bin.sha256);
    if (known !== undefined) return known;
    let info: Solo5Info | null | undefined;
    try {
      info = JSON.parse(readFileSync(this.solo5File(bin.sha256), 'utf8')) as Solo5Info | null;
    } catch {
      const run: Promise<void> = this.computeSolo5(bin)
        .then(() => undefined, () => undefined)
        .finally(() => this.pending.delete(run));
      this.pending.add(run);
      return undefined;
    }
    this.remember(bin.sha256, info);
    return info;
  }

  private readonly solo5Known = new Map<string, Solo5Info | null>();
  private readonly solo5Inflight = new Map<string, Promise<Solo5Info | null>>();

  private remember(sha256: string, info: Solo5Info | null): void {
    // a bounded memo: the oldest entry leaves first
    if (this.solo5Known.size >= 4096) this.solo5Known.delete(this.solo5Known.keys().next().value!);
    this.solo5Known.set(sha256, info);
  }

  private solo5File(sha256: string): string {
    return join(this.dir, `solo5-v1-${sha256}.json`);
  }

  private computeSolo5(bin: ArtifactRef): Promise<Solo5Info | null> {
    let run = this.solo5Inflight.get(bin.sha256);
    if (!run) {
      run = (async () => {
        const info = (await this.startsAsElf(bin.sha256)) ? (solo5Info(await this.store.readBlob(bin.sha256)) ?? null) : null;
        await mkdir(this.dir, { recursive: true });
        const file = this.solo5File(bin.sha256);
        const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
        await writeFile(tmp, JSON.stringify(info));
        await rename(tmp, file);
        this.remember(bin.sha256, info);
        return info;
      })().finally(() => this.solo5Inflight.delete(bin.sha256));
      this.solo5Inflight.set(bin.sha256, run);
    }
    return run;
  }

  /** Computes all in the background (after an upload); failures are reported, never thrown. */
  prepare(b: BuildRecord, log?: (line: string) => void): Promise<void> {
    const run: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(async () => {
        for (const kind of ['dependencies', 'treemap'] as const) await this.html(b, kind);
        if (b.mainBinary && !existsSync(this.solo5File(b.mainBinary.sha256))) await this.computeSolo5(b.mainBinary);
      })
      .catch((e: unknown) => log?.(`visualizations of ${b.uuid}: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => this.pending.delete(run));
    this.pending.add(run);
    return run;
  }

  /** Resolves when no background computation runs (the web server waits for it when it closes). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private async startsAsElf(sha256: string): Promise<boolean> {
    const fh = await open(this.store.artifacts.path(sha256), 'r');
    try {
      const head = new Uint8Array(64);
      const { bytesRead } = await fh.read(head, 0, 64, 0);
      return isElf(head.subarray(0, bytesRead));
    } finally {
      await fh.close();
    }
  }

  private async compute(kind: VizKind, src: ArtifactRef, file: string): Promise<string> {
    const title = kind === 'dependencies' ? 'Opam dependencies' : `Binary dissection of ${src.path.split('/').pop()}`;
    let html: string;
    let noSymbols = false;
    if (kind === 'treemap' && !(await this.startsAsElf(src.sha256))) {
      // not ELF (a disk image, an archive): no need to read it all
      html = treemapHtml(title, { symbols: [], fileSize: src.size });
      noSymbols = true;
    } else if (kind === 'treemap') {
      const elf = symbolsOf(await this.store.readBlob(src.sha256));
      html = treemapHtml(title, elf);
      noSymbols = elf.symbols.length === 0;
    } else {
      html = dependenciesHtml(title, (await this.store.readBlob(src.sha256)).toString('utf8'));
    }
    await mkdir(this.dir, { recursive: true });
    if (noSymbols) await writeFile(this.noSymbolsMarker(src.sha256), '');
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, html);
    await rename(tmp, file);
    return html;
  }
}

/** A malformed ELF file reads as one without symbols. */
function symbolsOf(data: Uint8Array) {
  try {
    return elfSymbols(data);
  } catch {
    return { symbols: [], fileSize: data.length };
  }
}

const caches = new WeakMap<BuildStore, VizCache>();

export function vizCacheFor(store: BuildStore): VizCache {
  let c = caches.get(store);
  if (!c) {
    c = new VizCache(store);
    caches.set(store, c);
  }
  return c;
}
