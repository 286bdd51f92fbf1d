// builder drop-platform PLATFORM
import type { ClientCommand } from './command.ts';
import { call } from './session.ts';

const command: ClientCommand = {
  name: 'drop-platform',
  summary: "Drops PLATFORM: removes its queue and its jobs from the schedule, and refuses new jobs for it until undrop-platform.",
  args: [{ name: 'PLATFORM', help: 'the platform' }],
  json: '{"ok":true,"command":"drop-platform","platform":...}',
  async run(ctx) {
    const platform = ctx.args.PLATFORM!;
    await call(ctx.remote, { type: 'drop-platform', platform });
    if (ctx.out.json) ctx.out.printJson({ ok: true, command: 'drop-platform', platform });
    else ctx.out.print(`dropped platform ${platform}`);
    return 0;
  },
};

export default command;
