// builder undrop-platform PLATFORM
import type { ClientCommand } from './command.ts';
import { call } from './session.ts';

const command: ClientCommand = {
  name: 'undrop-platform',
  summary: 'Accepts jobs for a dropped PLATFORM again.',
  args: [{ name: 'PLATFORM', help: 'the platform' }],
  json: '{"ok":true,"command":"undrop-platform","platform":...}',
  async run(ctx) {
    const platform = ctx.args.PLATFORM!;
    await call(ctx.remote, { type: 'undrop-platform', platform });
    if (ctx.out.json) ctx.out.printJson({ ok: true, command: 'undrop-platform', platform });
    else ctx.out.print(`platform ${platform} accepted again`);
    return 0;
  },
};

export default command;
