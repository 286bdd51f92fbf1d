// The schedule's due-heap: filled at start in one go, then kept by set/delete; stale items are skipped.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DueHeap } from '../src/server/due-heap.ts';

/** a seeded generator, so a failure can be replayed */
function rng(seed: number): () => number {
  return () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

describe('DueHeap', () => {
  it('filled at once, gives every live time in order, and follows later sets and deletes', () => {
    const r = rng(7);
    const model = new Map<string, number | null>();
    const entries = Array.from({ length: 2000 }, (_, i) => ({ name: `j${i}`, at: r() < 0.1 ? null : Math.floor(r() * 1000) }));
    for (const e of entries) model.set(e.name, e.at);
    const h = new DueHeap();
    h.fill(entries);
    for (let i = 0; i < 500; i++) {
      const name = `j${Math.floor(r() * 2100)}`;
      const at = r() < 0.2 ? null : Math.floor(r() * 1000);
      if (r() < 0.3) {
        h.delete(name);
        model.set(name, null);
      } else {
        h.set(name, at);
        model.set(name, at);
      }
    }
    const live = [...model].filter(([, at]) => at !== null).map(([name, at]) => ({ name, at: at! }));
    const earliest = Math.min(...live.map((e) => e.at));
    assert.equal(h.peek(), earliest);
    const due = h.popDue(500);
    const expected = live.filter((e) => e.at <= 500);
    assert.deepEqual([...due].sort(), expected.map((e) => e.name).sort());
    // in time order
    const times = due.map((n) => model.get(n)!);
    assert.deepEqual(times, [...times].sort((a, b) => a - b));
    // popped names are gone until set again
    assert.deepEqual(h.popDue(500), []);
    h.set(due[0]!, 1);
    assert.deepEqual(h.popDue(500), [due[0]]);
  });

  it('fill on a heap in use is a set per entry', () => {
    const h = new DueHeap();
    h.set('a', 5);
    h.fill([{ name: 'a', at: 9 }, { name: 'b', at: 3 }, { name: 'c', at: null }]);
    assert.deepEqual(h.popDue(10), ['b', 'a']);
    assert.equal(h.peek(), undefined);
  });
});
