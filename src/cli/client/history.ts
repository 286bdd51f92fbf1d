// builder history NAME [--limit N]: the finished runs of a job, newest first (History [24], our extension).
import { ClientError, ClientErrorCode as E } from '../../errors/client-error.ts';
import type { HistoryEntry } from '../../server/persistence.ts';
import { usageError, type ClientCommand } from './command.ts';
import { callExtension } from './extension.ts';
import { resultStyle } from './style.ts';
import { section } from './table.ts';
import { absoluteTime, relativeTime } from './time-text.ts';
import { formatDuration } from './duration.ts';

const command: ClientCommand = {
  name: 'history',
  summary: "Lists the finished runs of the job NAME, newest first: uuid, platform, when, how long, the result (--json adds each run's result file, resultPath, on the server's host). An unknown job is an error (exit 1).",
  args: [{ name: 'NAME', help: 'the job name' }],
  options: {
    limit: { type: 'string', value: 'N', help: 'show at most N runs', default: '20' },
  },
  json: 'the runs, newest first: [{"uuid","jobName","platform","startedAt","finishedAt","result","resultText","resultPath","transitions"}]',
  async run(ctx) {
    const limit = Number(ctx.opts.limit);
    if (!Number.isInteger(limit) || limit < 1) throw usageError(`--limit: not a positive whole number: ${JSON.stringify(ctx.opts.limit)}`);
    const name = ctx.args.NAME!;
    const reply = await callExtension(ctx.remote, { type: 'history', name }, 'history-reply', 'job history', "read the result files <dir>/<job>/<uuid>/full on the server's host with `builder inspect FILE` instead");
    let entries: HistoryEntry[];
    try {
      entries = JSON.parse(reply!.json) as HistoryEntry[];
    } catch (e) {
      throw new ClientError(E.UNEXPECTED_REPLY, `the server sent a history reply that is not JSON: ${(e as Error).message}`);
    }
    entries = entries.slice(0, limit);
    if (ctx.out.json) {
      ctx.out.printJson(entries);
      return 0;
    }
    const now = Date.now();
    const style = ctx.out.style;
    ctx.out.print(
      section(
        `HISTORY OF ${name}`,
        ['UUID', 'PLATFORM', 'STARTED', 'DURATION', 'RESULT'],
        entries.map((h) => [h.uuid, h.platform, `${absoluteTime(h.startedAt)} (${relativeTime(h.startedAt, now)})`, formatDuration(BigInt(Math.max(0, Math.round(h.finishedAt - h.startedAt))) * 1_000_000n), resultStyle(style, h.resultText)]),
        style,
      ),
    );
    return 0;
  },
};

export default command;
