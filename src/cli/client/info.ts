// builder info [--original-format]
import type { ClientCommand } from './command.ts';
import { fetchInfo } from './info-data.ts';
import { infoTables, originalInfoText } from './info-text.ts';
import { call } from './session.ts';
import { uuidToString } from '../../protocol/uuid.ts';

const command: ClientCommand = {
  name: 'info',
  summary:
    'Shows the schedule (next run in absolute and relative time), the queue of every platform, the running jobs with their elapsed time, the connected workers and the dropped platforms.',
  args: [],
  options: {
    'original-format': { type: 'boolean', help: "print the original client's text (the Info command of protocol 13)" },
  },
  json: 'the server\'s state: {"now","schedule":[{name,platform,trigger,next,timeoutSeconds,lastRun,...}],"queues","runs","workers","dropped","source"}',
  async run(ctx) {
    if (ctx.opts['original-format']) {
      const reply = await call(ctx.remote, { type: 'info' }, 'info-reply');
      const info = reply!.info;
      if (ctx.out.json) ctx.out.printJson({ ...info, running: info.running.map((r) => ({ ...r, uuid: uuidToString(r.uuid) })) });
      else ctx.out.print(originalInfoText(reply!.info));
      return 0;
    }
    const info = await fetchInfo(ctx.remote);
    if (ctx.out.json) ctx.out.printJson(info);
    else ctx.out.print(infoTables(info, ctx.out.style));
    return 0;
  },
};

export default command;
