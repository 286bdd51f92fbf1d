#!/usr/bin/env node
// Builds dist/: the `builder` command as JavaScript, so no TypeScript is compiled when a command starts.
// Run by `npm install` / `npm ci` (prepare), before `npm test` (pretest), and by test helpers that spawn
// bin/builder.mjs (with --if-stale, so a source edit is never run from an old build).
//
// One ESM bundle with code splitting: each lazily imported command stays its own chunk, so `builder --help`
// loads one small file and `builder info` only the client's. Packages in node_modules stay external
// (lmdb is native, piscina and dockerode load their own files).
//
// `import.meta.url` in a source file keeps meaning that file's location in src/ (every output file is
// directly in dist/, so the source is at ../<path>): src/web/static/ and examples/ are found where they are.
// BUILDER_BUNDLE tells src/pool/pool.ts to start dist/pool-worker.js instead of the tsx-loading worker.mjs.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const metaFile = path.join(dist, 'inputs.json');
const LAUNCHER_SOURCE = 'sandbox/job-launcher.c';
const LAUNCHER = 'job-launcher';

/**
 * The process sandbox's job launcher, compiled with the system's C compiler (`cc`), written like the bundle's files.
 * Without a compiler (or if it fails) there is no dist/job-launcher and the worker runs the Perl launcher instead.
 */
function compileLauncher() {
  const tmp = path.join(dist, `${LAUNCHER}.${process.pid}.tmp`);
  const cc = spawnSync(process.env.CC || 'cc', ['-O2', '-Wall', '-o', tmp, path.join(root, LAUNCHER_SOURCE)], { encoding: 'utf8' });
  if (cc.status === 0) return tmp;
  const why = cc.error ? `no C compiler (${cc.error.message})` : `cc failed: ${cc.stderr.trim().split('\n')[0]}`;
  console.warn(`builder: the compiled job launcher was not built, ${why}; workers use the Perl one`);
  return undefined;
}

/** Whether dist/ was built after the last change to any file it was built from. */
async function upToDate() {
  let meta;
  try {
    meta = JSON.parse(await readFile(metaFile, 'utf8'));
  } catch {
    return false;
  }
  const builtAt = (await stat(metaFile)).mtimeMs;
  for (const input of [...meta.inputs, LAUNCHER_SOURCE, 'scripts/build.mjs', 'package.json']) {
    try {
      if ((await stat(path.join(root, input))).mtimeMs >= builtAt) return false;
    } catch {
      return false;
    }
  }
  return true;
}

const sourceUrlPlugin = {
  name: 'source-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      let contents = await readFile(args.path, 'utf8');
      if (contents.includes('import.meta.url')) {
        const rel = path.relative(dist, args.path).split(path.sep).join('/');
        contents = contents.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`);
      }
      return { contents, loader: 'ts' };
    });
  },
};

async function run() {
  if (process.argv.includes('--if-stale') && (await upToDate())) return;
  const startedAt = new Date();
  const result = await build({
    absWorkingDir: root,
    entryPoints: { main: 'src/cli/main.ts', 'pool-worker': 'src/pool/tasks.ts' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    outdir: dist,
    entryNames: '[name]',
    chunkNames: '[name]-[hash]',
    sourcemap: 'linked',
    define: { BUILDER_BUNDLE: 'true' },
    plugins: [sourceUrlPlugin],
    metafile: true,
    write: false,
    logLevel: 'warning',
  });
  // Each file is written beside its place and renamed over it, so a builder process starting meanwhile
  // (another test) reads either the old or the new file, never half of one. Chunk names carry a hash.
  await mkdir(dist, { recursive: true });
  const written = new Set();
  for (const f of result.outputFiles) {
    const tmp = `${f.path}.${process.pid}.tmp`;
    await writeFile(tmp, f.contents);
    await rename(tmp, f.path);
    written.add(path.basename(f.path));
  }
  const launcher = compileLauncher();
  if (launcher) {
    await rename(launcher, path.join(dist, LAUNCHER));
    written.add(LAUNCHER);
  } else await rm(path.join(dist, LAUNCHER), { force: true });
  // old chunks: removed once no process started a minute ago can still be loading them
  const now = Date.now();
  for (const name of await readdir(dist)) {
    if (written.has(name) || name === 'inputs.json') continue;
    const p = path.join(dist, name);
    if (now - (await stat(p)).mtimeMs > 60_000) await rm(p, { force: true });
  }
  const inputs = Object.keys(result.metafile.inputs).filter((p) => !p.startsWith('node_modules/'));
  const tmp = `${metaFile}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify({ inputs }) + '\n');
  // dated to the build's start: a source saved during the build makes the next --if-stale build again
  await utimes(tmp, startedAt, startedAt);
  await rename(tmp, metaFile);
}

await run();
