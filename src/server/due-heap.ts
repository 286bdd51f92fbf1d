// A min-heap of (time, name) for the schedule: the supervisor arms one timer for the earliest entry
// instead of scanning every entry. Stale items (an entry rescheduled or removed) are skipped lazily.

interface Item {
  at: number;
  name: string;
  version: number;
}

export class DueHeap {
  private readonly items: Item[] = [];
  /** a name's live version; absent means 1 (what `fill` gives, so a start with 100k entries fills no map) */
  private readonly versions = new Map<string, number>();

  /**
   * The start: every (name, time) at once, in O(n), when the heap has never been used; otherwise as
   * many `set`s. A name must appear once.
   */
  fill(entries: Iterable<{ name: string; at: number | null }>): void {
    if (this.items.length > 0 || this.versions.size > 0) {
      for (const e of entries) this.set(e.name, e.at);
      return;
    }
    for (const e of entries) if (e.at !== null) this.items.push({ at: e.at, name: e.name, version: 1 });
    for (let i = (this.items.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  set(name: string, at: number | null): void {
    const version = (this.versions.get(name) ?? 1) + 1;
    this.versions.set(name, version);
    if (at === null) return;
    this.items.push({ at, name, version });
    this.up(this.items.length - 1);
  }

  delete(name: string): void {
    this.set(name, null);
  }

  /** The earliest live time, or undefined. */
  peek(): number | undefined {
    this.dropStale();
    return this.items[0]?.at;
  }

  /** Removes and returns every live name due at or before now. */
  popDue(now: number): string[] {
    const out: string[] = [];
    for (;;) {
      this.dropStale();
      const top = this.items[0];
      if (!top || top.at > now) return out;
      this.pop();
      this.versions.set(top.name, top.version + 1);
      out.push(top.name);
    }
  }

  get size(): number {
    return this.items.length;
  }

  private dropStale(): void {
    while (this.items.length > 0 && this.items[0]!.version !== (this.versions.get(this.items[0]!.name) ?? 1)) this.pop();
  }

  private pop(): void {
    const last = this.items.pop()!;
    if (this.items.length > 0) {
      this.items[0] = last;
      this.down(0);
    }
  }

  private up(i: number): void {
    const a = this.items;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.at <= a[i]!.at) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }

  private down(i: number): void {
    const a = this.items;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && a[l]!.at < a[m]!.at) m = l;
      if (r < a.length && a[r]!.at < a[m]!.at) m = r;
      if (m === i) return;
      [a[m], a[i]] = [a[i]!, a[m]!];
      i = m;
    }
  }
}
