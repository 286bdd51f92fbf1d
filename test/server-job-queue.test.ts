import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobQueue } from '../src/server/job-queue.ts';
import type { Job } from '../src/protocol/types.ts';

const job = (name: string): Job => ({ name, script: `echo ${name}`, platform: 'p' }) as unknown as Job;

/** A plain array with the same operations, the queue's meaning spelled out. */
class Reference {
  items: Job[] = [];
  has = (name: string) => this.items.some((j) => j.name === name);
  pushBack(j: Job) {
    if (this.has(j.name)) return false;
    this.items.push(j);
    return true;
  }
  remove(name: string) {
    const i = this.items.findIndex((j) => j.name === name);
    if (i < 0) return false;
    this.items.splice(i, 1);
    return true;
  }
  pushFront(j: Job) {
    const moved = this.remove(j.name);
    this.items.unshift(j);
    return moved;
  }
  insertAt(i: number, j: Job) {
    if (this.has(j.name)) return false;
    this.items.splice(Math.min(i, this.items.length), 0, j);
    return true;
  }
  take(eligible: (j: Job) => boolean) {
    const i = this.items.findIndex(eligible);
    return i < 0 ? undefined : this.items.splice(i, 1)[0];
  }
}

test('the queue keeps order and membership through takes from the front (past its compaction), removes and inserts', () => {
  let seed = 7;
  const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const q = new JobQueue();
  const r = new Reference();
  for (let step = 0; step < 20_000; step++) {
    const name = `j${random(3000)}`;
    const op = random(10);
    if (op < 4) assert.equal(q.pushBack(job(name)), r.pushBack(job(name)));
    else if (op < 7) assert.equal(q.take(() => true)?.name, r.take(() => true)?.name);
    else if (op === 7) assert.equal(q.take((j) => j.name.endsWith('3'))?.name, r.take((j) => j.name.endsWith('3'))?.name);
    else if (op === 8) assert.equal(q.remove(name), r.remove(name));
    else if (random(2) === 0) assert.equal(q.pushFront(job(name)), r.pushFront(job(name)));
    else {
      const at = random(5);
      assert.equal(q.insertAt(at, job(name)), r.insertAt(at, job(name)));
    }
    assert.equal(q.length, r.items.length);
    assert.equal(q.has(name), r.has(name));
    if (step % 97 === 0) {
      assert.deepEqual(q.names_(), r.items.map((j) => j.name));
      assert.equal(q.indexOf(name), r.items.findIndex((j) => j.name === name));
    }
  }
  assert.deepEqual(q.names_(), r.items.map((j) => j.name));
});

test('100k queued jobs are taken from the front one by one, in order', () => {
  const q = new JobQueue(Array.from({ length: 100_000 }, (_, i) => job(`j${i}`)));
  for (let i = 0; i < 100_000; i++) assert.equal(q.take(() => true)?.name, `j${i}`);
  assert.equal(q.length, 0);
  assert.equal(q.take(() => true), undefined);
});

test('a queue made from a list keeps its order and membership; a name given twice is kept once, at its first place', () => {
  const q = new JobQueue(['a', 'b', 'c'].map(job));
  assert.deepEqual(q.names_(), ['a', 'b', 'c']);
  assert.ok(q.has('b') && !q.has('d'));
  assert.equal(q.pushBack(job('b')), false);
  assert.equal(q.take(() => true)?.name, 'a');
  const twice = new JobQueue(['x', 'y', 'x', 'z'].map(job));
  assert.deepEqual(twice.names_(), ['x', 'y', 'z']);
  assert.equal(twice.length, 3);
  assert.equal(twice.remove('x'), true);
  assert.equal(twice.has('x'), false);
  assert.deepEqual(twice.names_(), ['y', 'z']);
});
