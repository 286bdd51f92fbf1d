// One platform's queue in memory: ordered, each job name at most once, with O(1) membership
// (a queue of 100k jobs must not make every schedule O(n)). Jobs are taken from the front: the array
// keeps a head index instead of shifting (a splice at the front of 100k items moved them all, about
// 0.2 ms per job taken), and drops the taken slots once they are half of it.
import type { Job } from '../protocol/types.ts';

export class JobQueue {
  /** items[head..] are the queue; the slots before head are taken. */
  private items: (Job | undefined)[] = [];
  private head = 0;
  private readonly names = new Set<string>();

  /** Takes `jobs` over (the array becomes the queue's own); a name given twice is kept once, at its first place. */
  constructor(jobs: Job[] = []) {
    for (const j of jobs) this.names.add(j.name);
    if (this.names.size === jobs.length) this.items = jobs;
    else {
      this.names.clear();
      for (const j of jobs) this.pushBack(j);
    }
  }

  get length(): number {
    return this.items.length - this.head;
  }

  has(name: string): boolean {
    return this.names.has(name);
  }

  jobs(): Job[] {
    return this.items.slice(this.head) as Job[];
  }

  names_(): string[] {
    return this.jobs().map((j) => j.name);
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
    if (this.head > 0) this.items[--this.head] = job;
    else this.items.unshift(job);
    this.names.add(job.name);
    return moved;
  }

  /** where the name is in the queue, or -1 */
  indexOf(name: string): number {
    return this.names.has(name) ? this.find((j) => j.name === name) : -1;
  }

  /** Puts a job back where it was (undoing a remove); false when the name is queued already. */
  insertAt(index: number, job: Job): boolean {
    if (this.names.has(job.name)) return false;
    if (index <= 0 && this.head > 0) this.items[--this.head] = job;
    else this.items.splice(this.head + Math.min(index, this.length), 0, job);
    this.names.add(job.name);
    return true;
  }

  remove(name: string): boolean {
    if (!this.names.delete(name)) return false;
    this.removeAt(this.find((j) => j.name === name));
    return true;
  }

  /** Takes the first job that `eligible` accepts. */
  take(eligible: (job: Job) => boolean): Job | undefined {
    const i = this.find(eligible);
    if (i < 0) return undefined;
    const job = this.items[this.head + i]!;
    this.removeAt(i);
    this.names.delete(job.name);
    return job;
  }

  /** The queue position of the first job `match` accepts, or -1. */
  private find(match: (job: Job) => boolean): number {
    for (let i = this.head; i < this.items.length; i++) if (match(this.items[i]!)) return i - this.head;
    return -1;
  }

  private removeAt(i: number): void {
    if (i > 0) {
      this.items.splice(this.head + i, 1);
      return;
    }
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
