// Observing a run's console: a live run from its buffer, a finished one replayed from its result file.
import { readFile } from 'node:fs/promises';
import { CommandError } from '../errors/command-error.ts';
import { decodeExec } from '../protocol/exec-codec.ts';
import { ppResult as resultText } from '../protocol/pretty.ts';
import { ConsoleBuffer, type ConsoleObserver } from './console-buffer.ts';
import type { SupervisorCore } from './supervisor-core.ts';

/**
 * Sends the console of a run to the observer: the backlog, every new line and the result line.
 * A finished run is replayed from its result file. Throws 'uuid not found' for an unknown uuid.
 */
export async function observe(core: SupervisorCore, uuid: string, observer: ConsoleObserver): Promise<() => void> {
  const run = core.runs.get(uuid);
  if (run) return run.console.subscribe(observer);
  const h = core.opts.persistence.historyByUuid(uuid);
  if (h?.resultPath) {
    const exec = decodeExec(new Uint8Array(await readFile(h.resultPath)));
    const buf = new ConsoleBuffer();
    for (let i = exec.console.length - 1; i >= 0; i--) buf.append({ deltaNs: exec.console[i]!.delta, line: exec.console[i]!.line });
    buf.end(BigInt(Math.max(0, exec.finished.getTime() - exec.started.getTime())) * 1_000_000n, resultText(exec.result));
    return buf.subscribe(observer);
  }
  throw new CommandError('ERR_UUID_NOT_FOUND', 'uuid not found');
}

/** The newest run of a job (running first), for observe-latest. */
export function latestRun(core: SupervisorCore, opts: { job?: string; platform?: string }): string | undefined {
  let best: { uuid: string; at: number } | undefined;
  for (const r of core.runs.values()) {
    const c = r.actor.getSnapshot().context;
    if (opts.job && c.jobName !== opts.job) continue;
    if (opts.platform && c.platform !== opts.platform) continue;
    if (c.assignedAt === undefined) continue;
    if (!best || c.assignedAt > best.at) best = { uuid: r.uuid, at: c.assignedAt };
  }
  if (best) return best.uuid;
  if (opts.job) {
    const h = core.opts.persistence.history(opts.job, 50).find((e) => !opts.platform || e.platform === opts.platform);
    return h?.uuid;
  }
  return undefined;
}
