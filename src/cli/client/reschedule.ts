// builder reschedule NAME RFC3339 [--period P]
import type { Period } from '../../protocol/types.ts';
import { usageError, type ClientCommand } from './command.ts';
import { PERIODS } from './schedule-options.ts';
import { call } from './session.ts';
import { samePhrasing } from './unknown-job.ts';
import { whenText } from './time-text.ts';

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export function parseRfc3339(text: string): Date {
  const m = RFC3339.exec(text);
  const t = m ? Date.parse(text.replace(' ', 'T').toUpperCase()) : NaN;
  if (!m || Number.isNaN(t) || Number(m[2]) > 12 || Number(m[3]) > 31 || Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 60) {
    throw usageError(`NEXT: not an RFC 3339 time: ${JSON.stringify(text)} (e.g. 2025-01-31T04:00:00Z or 2025-01-31T05:00:00+01:00)`);
  }
  return new Date(t);
}

const command: ClientCommand = {
  name: 'reschedule',
  summary: "Sets the next run time of the job NAME (and with --period its period). As the original, the job is also queued at once.",
  args: [
    { name: 'NAME', help: 'the job name' },
    { name: 'NEXT', help: 'the next run time, RFC 3339: 2025-01-31T04:00:00Z (an offset such as +01:00 is allowed)' },
  ],
  options: {
    period: { type: 'string', value: 'PERIOD', values: PERIODS, help: 'a new period: hourly, daily, weekly or never (default: keep the current trigger)' },
  },
  json: '{"ok":true,"command":"reschedule","name":...,"next":"<ISO time>","period":...|null}',
  async run(ctx) {
    const name = ctx.args.NAME!;
    const next = parseRfc3339(ctx.args.NEXT!);
    const period = ctx.opts.period as Period | undefined;
    await samePhrasing(name, () => call(ctx.remote, { type: 'reschedule', name, next, ...(period ? { period } : {}) }));
    if (ctx.out.json) ctx.out.printJson({ ok: true, command: 'reschedule', name, next: next.toISOString(), period: period ?? null });
    else ctx.out.print(`rescheduled ${name}: next run ${whenText(next.getTime(), Date.now())}${period ? `, ${period}` : ''}`);
    return 0;
  },
};

export default command;
