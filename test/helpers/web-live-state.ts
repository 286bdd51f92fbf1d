// An in-memory LiveState for the web tests until the server provides the real one: the test
// drives it (start a run, add console lines, move states, finish) and the pages show it.
import type { LifecycleStep, LiveSnapshot, LiveState } from '../../src/web/live-state.ts';

interface Run {
  job: string;
  platform: string;
  startedAt: number;
  lines: { delta: bigint; line: Uint8Array }[];
  steps: LifecycleStep[];
  result?: string;
  listeners: Set<{ onLine: (d: bigint, l: Uint8Array) => void; onEnd: (r: string) => void }>;
}

export class MemoryLiveState implements LiveState {
  readonly runs = new Map<string, Run>();
  base: Omit<LiveSnapshot, 'running'> = { schedule: [], queues: [], workers: [], dropped: [] };

  start(uuid: string, job: string, platform: string, at: number): void {
    this.runs.set(uuid, { job, platform, startedAt: at, lines: [], steps: [{ state: 'running', at }], listeners: new Set() });
  }

  enter(uuid: string, state: string, at: number): void {
    this.runs.get(uuid)!.steps.push({ state, at });
  }

  line(uuid: string, deltaNs: bigint, text: string): void {
    const run = this.runs.get(uuid)!;
    const line = new Uint8Array(Buffer.from(text));
    run.lines.push({ delta: deltaNs, line });
    for (const l of run.listeners) l.onLine(deltaNs, line);
  }

  finish(uuid: string, result: string, at: number): void {
    const run = this.runs.get(uuid)!;
    run.result = result;
    run.steps.push({ state: 'done', at });
    for (const l of run.listeners) l.onEnd(result);
    run.listeners.clear();
  }

  listeners(uuid: string): number {
    return this.runs.get(uuid)?.listeners.size ?? 0;
  }

  snapshot(): LiveSnapshot {
    const running = [...this.runs.entries()]
      .filter(([, r]) => r.result === undefined)
      .map(([uuid, r]) => ({ uuid, job: r.job, platform: r.platform, startedAt: r.startedAt, state: r.steps[r.steps.length - 1]!.state }));
    return { ...this.base, running };
  }

  subscribeConsole(uuid: string, onLine: (d: bigint, l: Uint8Array) => void, onEnd: (r: string) => void): () => void {
    const run = this.runs.get(uuid);
    if (!run) {
      onEnd('uuid not found');
      return () => undefined;
    }
    for (const l of run.lines) onLine(l.delta, l.line);
    if (run.result !== undefined) {
      onEnd(run.result);
      return () => undefined;
    }
    const entry = { onLine, onEnd };
    run.listeners.add(entry);
    return () => run.listeners.delete(entry);
  }

  lifecycle(uuid: string): LifecycleStep[] | undefined {
    return this.runs.get(uuid)?.steps;
  }
}
