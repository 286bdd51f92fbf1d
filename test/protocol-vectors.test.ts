// Every vector of the original implementation decodes to the value the manifest describes and
// encodes back to the same bytes; asn1js sees the same DER tree as our strict reader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCmd, encodeCmd } from '../src/protocol/cmd-codec.ts';
import { decodeExec, encodeExec } from '../src/protocol/exec-codec.ts';
import { decodeState, encodeState } from '../src/protocol/state-codec.ts';
import { decodePeriod, encodePeriod } from '../src/protocol/period-codec.ts';
import { FrameReader, frame } from '../src/protocol/framing.ts';
import { asn1jsTree, derTree } from '../src/protocol/asn1-tree.ts';
import { cmdToManifest, execToManifest, loadManifest, periodToManifest, readVector, stateToManifest } from './protocol-vectors-support.ts';

const manifest = loadManifest();
const codecs = {
  cmd: { decode: decodeCmd, encode: encodeCmd, toManifest: cmdToManifest },
  exec: { decode: decodeExec, encode: encodeExec, toManifest: execToManifest },
  state: { decode: decodeState, encode: encodeState, toManifest: stateToManifest },
  period: { decode: decodePeriod, encode: encodePeriod, toManifest: periodToManifest },
} as const;

test('the manifest lists vectors of every kind', () => {
  const kinds = new Set(manifest.vectors.map((v) => v.kind));
  assert.deepEqual([...kinds].sort(), ['cmd', 'exec', 'period', 'state']);
});

for (const v of manifest.vectors) {
  test(`vector ${v.name} (${v.kind})`, () => {
    const der = readVector(v);
    assert.equal(Buffer.from(der).toString('hex'), v.hex, 'file matches the manifest hex');
    const codec = codecs[v.kind] as { decode(d: Uint8Array): unknown; encode(x: unknown): Uint8Array; toManifest(x: unknown): unknown };
    const value = codec.decode(der);
    assert.deepEqual(codec.toManifest(value), v.value);
    assert.equal(Buffer.from(codec.encode(value)).toString('hex'), v.hex, 'encodes back to the same bytes');
    assert.deepEqual(asn1jsTree(der), derTree(der), 'asn1js and our reader agree');
  });
}

test('framed.bin is one frame holding a ClientHello', () => {
  const bytes = readVector(manifest.framed);
  assert.equal(Buffer.from(bytes).toString('hex'), manifest.framed.hex);
  const frames = new FrameReader({ maxFrameBytes: 1024 }).push(bytes);
  assert.equal(frames.length, 1);
  const cmd = decodeCmd(frames[0]!);
  assert.deepEqual(cmd, { type: 'client-hello', kind: 'client', version: 13 });
  assert.deepEqual(Buffer.from(frame(encodeCmd(cmd))), Buffer.from(bytes));
});
