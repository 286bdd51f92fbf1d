// builder-web's upload hooks: every executable <config>/upload-hooks/*.sh runs after a build with a main binary.
import { execFile } from 'node:child_process';
import { access, constants, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildRecord } from './build-record.ts';

export interface HookRun {
  hook: string;
  exitCode: number | null;
  output: string;
}

function buildTime(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export function hookArgs(b: BuildRecord, dataDir: string, artifactPath: string): string[] {
  return [
    `--build-time=${buildTime(b.start)}`,
    `--sha256=${b.mainBinary!.sha256}`,
    `--job=${b.job}`,
    `--uuid=${b.uuid}`,
    `--platform=${b.platform}`,
    `--cache-dir=${join(dataDir, '_cache')}`,
    `--data-dir=${dataDir}`,
    `--main-binary-filepath=${b.mainBinary!.path}`,
    artifactPath,
  ];
}

async function hooksIn(configDir: string): Promise<string[]> {
  const dir = join(configDir, 'upload-hooks');
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: string[] = [];
  for (const n of names.filter((n) => n.endsWith('.sh')).sort()) {
    const p = join(dir, n);
    if (await access(p, constants.X_OK).then(() => true, () => false)) out.push(p);
  }
  return out;
}

/** Runs the hooks one after the other; a failing hook is reported, never thrown. */
export async function runUploadHooks(
  configDir: string | undefined,
  b: BuildRecord,
  dataDir: string,
  artifactPath: string,
): Promise<HookRun[]> {
  if (!configDir || !b.mainBinary) return [];
  const runs: HookRun[] = [];
  for (const hook of await hooksIn(configDir)) {
    runs.push(
      await new Promise<HookRun>((resolve) => {
        execFile(hook, hookArgs(b, dataDir, artifactPath), { timeout: 600_000 }, (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
          resolve({ hook, exitCode: code, output: stdout + stderr });
        });
      }),
    );
  }
  return runs;
}
