// orb-build jobs become scripts through <config-dir>/orb-build.template.<platform>.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CommandError } from '../errors/command-error.ts';
import type { Job, ScriptJob } from '../protocol/types.ts';

const NO_PLATFORM = 'no-platform';

export class OrbTemplates {
  private readonly cache = new Map<string, string | null>();

  constructor(private readonly configDir: string) {}

  file(platform: string): string {
    return path.join(this.configDir, `orb-build.template.${platform}`);
  }

  exists(platform: string): boolean {
    return this.read(platform) !== null;
  }

  /** As exists(), reading the file again (a template may have been added since). */
  existsNow(platform: string): boolean {
    this.cache.delete(platform);
    return this.read(platform) !== null;
  }

  private read(platform: string): string | null {
    if (!this.cache.has(platform)) {
      let text: string | null = null;
      try {
        text = readFileSync(this.file(platform), 'utf8');
      } catch {
        text = null;
      }
      this.cache.set(platform, text);
    }
    return this.cache.get(platform)!;
  }

  /** The script a worker of the platform runs for the job (a template is re-read each time). */
  toScriptJob(job: Job, platform: string): ScriptJob {
    if (job.type === 'script') {
      if ((job.platform ?? NO_PLATFORM) !== platform) {
        throw new CommandError('ERR_WRONG_PLATFORM', `script platform "${job.platform}" does not match worker platform "${platform}"`);
      }
      return job;
    }
    this.cache.delete(platform);
    const template = this.read(platform);
    if (template === null) throw new CommandError('ERR_NO_TEMPLATE', `no template ${this.file(platform)} for orb-build job ${job.name}`);
    const script = template.split('%%OPAM_PACKAGE%%').join(job.opamPackage).split('%%PLATFORM%%').join(platform);
    return { type: 'script', name: job.name, script, platform };
  }
}
