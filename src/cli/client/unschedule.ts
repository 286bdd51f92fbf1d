// builder unschedule NAME
import type { ClientCommand } from './command.ts';
import { call } from './session.ts';

const command: ClientCommand = {
  name: 'unschedule',
  summary: 'Removes the job NAME from the schedule and from every queue. A run in progress finishes.',
  args: [{ name: 'NAME', help: 'the job name' }],
  json: '{"ok":true,"command":"unschedule","name":...}',
  async run(ctx) {
    const name = ctx.args.NAME!;
    await call(ctx.remote, { type: 'unschedule', name });
    if (ctx.out.json) ctx.out.printJson({ ok: true, command: 'unschedule', name });
    else ctx.out.print(`unscheduled ${name}`);
    return 0;
  },
};

export default command;
