// Schedule entries read back from the store, made small: at 100k jobs they are most of the server's heap.
// msgpackr returns a decoded string of 13 or more characters as a slice of one string holding the whole
// record, which keeps every record's full text alive for as long as its script; and every record
// repeats the same platform, trigger and catch-up. So: long strings are copied flat, short ones and
// the (never mutated) period triggers and catch-up objects and the repeated words (platform, origin) are
// shared, the job's name is the entry's name, and each entry is one object literal (one shape, no spill array).
import type { Job } from '../protocol/types.ts';
import type { ScheduleEntry } from './persistence.ts';

export class EntryCompactor {
  /** the few words every record repeats: platforms, origins, time zones */
  private readonly words = new Map<string, string>();
  private readonly periods = new Map<string, ScheduleEntry['trigger']>();

  /**
   * An entry the store decoded from its compact layout (src/store/record-codec.ts) has flat strings and
   * shares its repeated words already: only its trigger and catch-up are swapped for shared ones, in place.
   */
  shareInPlace(e: ScheduleEntry): ScheduleEntry {
    e.trigger = this.trigger(e.trigger);
    e.catchUp = catchUp(e.catchUp);
    if (e.origin === undefined) e.origin = 'client';
    if (e.pendingRuns === undefined) e.pendingRuns = 0;
    return e;
  }

  entry(e: ScheduleEntry): ScheduleEntry {
    const name = flat(e.name);
    return {
      name,
      job: this.job(e.job, name),
      trigger: this.trigger(e.trigger),
      next: e.next,
      timeoutSeconds: e.timeoutSeconds,
      catchUp: catchUp(e.catchUp),
      paused: e.paused,
      createdAt: e.createdAt,
      origin: this.word(e.origin ?? 'client') as ScheduleEntry['origin'],
      pendingRuns: e.pendingRuns ?? 0,
    };
  }

  job(j: Job, name = flat(j.name)): Job {
    if (j.type === 'orb-build') return { type: 'orb-build', name, opamPackage: flat(j.opamPackage) };
    return j.platform === undefined
      ? { type: 'script', name, script: flat(j.script) }
      : { type: 'script', name, script: flat(j.script), platform: this.word(j.platform) };
  }

  /** One string for all equal ones; only for values few records differ in (the map stays small). */
  word(s: string): string {
    let v = this.words.get(s);
    if (v === undefined) {
      v = flat(s);
      this.words.set(v, v);
    }
    return v;
  }

  private trigger(t: ScheduleEntry['trigger']): ScheduleEntry['trigger'] {
    if (t.type === 'period') {
      let v = this.periods.get(t.period);
      if (v === undefined) this.periods.set(t.period, (v = { type: 'period', period: t.period }));
      return v;
    }
    return t.timeZone === undefined ? { type: 'cron', expr: flat(t.expr) } : { type: 'cron', expr: flat(t.expr), timeZone: this.word(t.timeZone) };
  }
}

const ONE = { type: 'one' } as const;
const SKIP = { type: 'skip' } as const;

function catchUp(c: ScheduleEntry['catchUp']): ScheduleEntry['catchUp'] {
  if (c?.type === 'one') return ONE;
  if (c?.type === 'skip') return SKIP;
  return c;
}

/** A copy that does not share memory with the string it came from (V8 makes slices only from 13 characters on). */
function flat(s: string): string {
  return s.length < 13 ? s : (JSON.parse(JSON.stringify(s)) as string);
}
