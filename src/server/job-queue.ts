// One platform's queue in memory: ordered, each job name at most once, with O(1) membership
// (a queue of 100k jobs must not make every schedule O(n)).
import type { Job } from '../protocol/types.ts';

export class JobQueue {
  private items: Job[];
  private readonly names: Set<string>;

  constructor(jobs: Job[] = []) {
    this.items = [];
    this.names = new Set();
    for (const j of jobs) this.pushBack(j);
  }

  get length(): number {
    return this.items.length;
  }

  has(name: string): boolean {
    return this.names.has(name);
  }

  jobs(): Job[] {
    return [...this.items];
  }

  names_(): string[] {
    return this.items.map((j) => j.name);
  }

  /** false when the name is queued already */
  pushBack(job: Job): boolean {
    if (this.names.has(job.name)) return false;
    this.items.push(job);
    this.names.add(job.name);
    return true;
  }

  /** true when the job was queued and moved; false when it was added */
  pushFront(job: Job): boolean {
    const moved = this.remove(job.name);
    this.items.unshift(job);
    this.names.add(job.name);
    return moved;
  }

  /** where the name is in the queue, or -1 */
  indexOf(name: string): number {
    return this.names.has(name) ? this.items.findIndex((j) => j.name === name) : -1;
  }

  /** Puts a job back where it was (undoing a remove); false when the name is queued already. */
  insertAt(index: number, job: Job): boolean {
    if (this.names.has(job.name)) return false;
    this.items.splice(Math.min(index, this.items.length), 0, job);
    this.names.add(job.name);
    return true;
  }

  remove(name: string): boolean {
    if (!this.names.delete(name)) return false;
    const i = this.items.findIndex((j) => j.name === name);
    this.items.splice(i, 1);
    return true;
  }

  /** Takes the first job that `eligible` accepts. */
  take(eligible: (job: Job) => boolean): Job | undefined {
    const i = this.items.findIndex(eligible);
    if (i < 0) return undefined;
    const [job] = this.items.splice(i, 1);
    this.names.delete(job!.name);
    return job;
  }
}
