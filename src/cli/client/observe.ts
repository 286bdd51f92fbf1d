// builder observe UUID
import { usageError, type ClientCommand } from './command.ts';
import { INTERRUPTED_EXIT, interruptSignal, observeRun } from './observe-stream.ts';

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const command: ClientCommand = {
  name: 'observe',
  summary:
    "Prints the console of the run UUID: every line so far, then each new one as it comes, each after the time since the run started (as the original: 1.234s, 2m05s), and last the result (exited 0, ...). A finished run is replayed from its result file. Ctrl-C stops watching (exit status 130); the run goes on.",
  args: [{ name: 'UUID', help: 'the run, as `builder info` or `builder history` show it' }],
  json: 'one object per line: {"type":"line","uuid","deltaNs","delta","line"}, last {"type":"result",...,"result"}',
  async run(ctx) {
    const uuid = ctx.args.UUID!;
    if (!UUID.test(uuid)) throw usageError(`UUID: not a UUID: ${JSON.stringify(uuid)}`);
    const interrupt = interruptSignal();
    try {
      const end = await observeRun(ctx.remote, uuid.toLowerCase(), ctx.out, interrupt.signal);
      return end === 'interrupted' ? INTERRUPTED_EXIT : 0;
    } finally {
      interrupt.dispose();
    }
  },
};

export default command;
