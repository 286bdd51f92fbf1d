// builder execute NAME [--platform P]
import type { ClientCommand } from './command.ts';
import { call } from './session.ts';
import { samePhrasing } from './unknown-job.ts';

const command: ClientCommand = {
  name: 'execute',
  summary: 'Runs the job NAME as soon as possible: moves it to the front of its queue (every queue for an orb build, unless --platform).',
  args: [{ name: 'NAME', help: 'the job name' }],
  options: {
    platform: { type: 'string', value: 'PLATFORM', help: 'only on this platform (default: the job\'s own platform, or every platform)' },
  },
  json: '{"ok":true,"command":"execute","name":...,"platform":...|null}',
  async run(ctx) {
    const name = ctx.args.NAME!;
    const platform = ctx.opts.platform as string | undefined;
    await samePhrasing(name, () => call(ctx.remote, { type: 'execute', name, ...(platform !== undefined ? { platform } : {}) }));
    if (ctx.out.json) ctx.out.printJson({ ok: true, command: 'execute', name, platform: platform ?? null });
    else ctx.out.print(`queued ${name} to run next${platform ? ` on ${platform}` : ''}`);
    return 0;
  },
};

export default command;
