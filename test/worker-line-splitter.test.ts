import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter } from '../src/worker/line-splitter.ts';

function split(chunks: (string | number[])[], max?: number): string[] {
  const out: string[] = [];
  const s = new LineSplitter((l) => out.push(Buffer.from(l).toString('latin1')), max);
  for (const c of chunks) s.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : new Uint8Array(c));
  s.end();
  return out;
}

test('lines across chunk boundaries, empty lines, a last line without newline', () => {
  assert.deepEqual(split(['ab', 'c\nd', 'e\n\n', 'f']), ['abc', 'de', '', 'f']);
  assert.deepEqual(split(['x\n']), ['x']);
  assert.deepEqual(split([]), []);
});

test('bytes are kept as they are: CR, NUL, invalid UTF-8', () => {
  assert.deepEqual(split([[0xff, 0x00, 0x0d, 0x0a, 0xc3]]), ['\xff\x00\r', '\xc3']);
});

test('a line longer than the bound is cut; a newline right at the bound adds no empty line', () => {
  assert.deepEqual(split(['abcdefgh\n'], 3), ['abc', 'def', 'gh']);
  assert.deepEqual(split(['abc\ndef\n'], 3), ['abc', 'def']);
  assert.deepEqual(split(['ab', 'cd', 'e\n'], 2), ['ab', 'cd', 'e']);
  assert.throws(() => new LineSplitter(() => undefined, 0), RangeError);
});

test('the chunk handed in may be reused by the caller afterwards', () => {
  const out: Uint8Array[] = [];
  const s = new LineSplitter((l) => out.push(l));
  const buf = Buffer.from('partial');
  s.push(buf);
  buf.fill(0x7a);
  s.push(Buffer.from('\n'));
  assert.equal(Buffer.from(out[0]!).toString(), 'partial');
});
