// builder orb-build NAME OPAM [--period P | --cron EXPR [--tz ZONE]] [--timeout T] [--catch-up C]
import type { OrbBuildJob } from '../../protocol/types.ts';
import type { ClientCommand } from './command.ts';
import { callExtension } from './extension.ts';
import { extendedFeatures, scheduleChoice, scheduleOptions, triggerText } from './schedule-options.ts';
import { call } from './session.ts';

const command: ClientCommand = {
  name: 'orb-build',
  summary:
    "Schedules a reproducible build of the opam package OPAM as the job NAME on every platform that has a template <config-dir>/orb-build.template.<platform> on the server.",
  args: [
    { name: 'NAME', help: 'the job name, unique on the server' },
    { name: 'OPAM', help: 'the opam package to build' },
  ],
  options: scheduleOptions,
  json: '{"ok":true,"command":"orb-build","name":...,"opamPackage":...,"period"|"cron":...,"extended":bool}',
  async run(ctx) {
    const choice = scheduleChoice(ctx.opts);
    const job: OrbBuildJob = { type: 'orb-build', name: ctx.args.NAME!, opamPackage: ctx.args.OPAM! };
    if (choice.extended) {
      const { extended: _, ...rest } = choice;
      const { feature, instead } = extendedFeatures(choice);
      await callExtension(ctx.remote, { type: 'schedule-extended', schedule: { job, ...rest } }, undefined, feature, instead);
    } else {
      await call(ctx.remote, { type: 'schedule-orb-build', period: choice.period!, job });
    }
    if (ctx.out.json) ctx.out.printJson({ ok: true, command: 'orb-build', name: job.name, opamPackage: job.opamPackage, ...choice });
    else ctx.out.print(`scheduled orb build ${job.name} of ${job.opamPackage}, ${triggerText(choice)}, for the platforms with a template (orb-build.template.<platform> in the server's --config-dir)`);
    return 0;
  },
};

export default command;
