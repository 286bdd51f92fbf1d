// builder schedule NAME PLATFORM FILE [--period P | --cron EXPR [--tz ZONE]] [--timeout T] [--catch-up C]
import { readFile } from 'node:fs/promises';
import { ClientError, ClientErrorCode as E } from '../../errors/client-error.ts';
import type { ScriptJob } from '../../protocol/types.ts';
import type { ClientCommand } from './command.ts';
import { callExtension } from './extension.ts';
import { extendedFeatures, scheduleChoice, scheduleOptions, triggerText } from './schedule-options.ts';
import { call } from './session.ts';

const command: ClientCommand = {
  name: 'schedule',
  summary:
    'Schedules the shell script FILE as the job NAME for workers of PLATFORM. A periodic job is queued at once and then every period; a cron job waits for its first time.',
  args: [
    { name: 'NAME', help: 'the job name, unique on the server' },
    { name: 'PLATFORM', help: 'the platform whose workers run it (as given to `builder worker PLATFORM`)' },
    { name: 'FILE', help: 'the shell script to run' },
  ],
  options: scheduleOptions,
  json: '{"ok":true,"command":"schedule","name":...,"platform":...,"period"|"cron":...,"extended":bool}',
  async run(ctx) {
    const file = ctx.args.FILE!;
    let script: string;
    try {
      script = await readFile(file, 'utf8');
    } catch (e) {
      throw new ClientError(E.FILE, `cannot read the script ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    const choice = scheduleChoice(ctx.opts);
    const job: ScriptJob = { type: 'script', name: ctx.args.NAME!, script, platform: ctx.args.PLATFORM! };
    if (choice.extended) {
      const { extended: _, ...rest } = choice;
      const { feature, instead } = extendedFeatures(choice);
      await callExtension(ctx.remote, { type: 'schedule-extended', schedule: { job, ...rest } }, undefined, feature, instead);
    } else {
      await call(ctx.remote, { type: 'schedule', period: choice.period!, job });
    }
    if (ctx.out.json) {
      ctx.out.printJson({ ok: true, command: 'schedule', name: job.name, platform: job.platform, ...choice });
    } else {
      ctx.out.print(`scheduled ${job.name} on ${job.platform}, ${triggerText(choice)}`);
    }
    return 0;
  },
};

export default command;
