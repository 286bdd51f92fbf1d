// Seeded fuzzing: mutated vectors and random frames meet nothing but ProtocolErrors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCmd, encodeCmd } from '../src/protocol/cmd-codec.ts';
import { decodeExec, encodeExec } from '../src/protocol/exec-codec.ts';
import { decodeState, encodeState } from '../src/protocol/state-codec.ts';
import { decodePeriod, encodePeriod } from '../src/protocol/period-codec.ts';
import { FrameReader, frame } from '../src/protocol/framing.ts';
import { asn1jsTree, derTree } from '../src/protocol/asn1-tree.ts';
import { ProtocolError } from '../src/errors/protocol-error.ts';
import { loadManifest, readVector } from './protocol-vectors-support.ts';
import { mulberry32 as rng } from './helpers/prng.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);
const CASES = Number(process.env.FUZZ_CASES ?? 120_000);


const codecs = [
  { name: 'cmd', decode: decodeCmd, encode: encodeCmd as (v: never) => Uint8Array },
  { name: 'exec', decode: decodeExec, encode: encodeExec as (v: never) => Uint8Array },
  { name: 'state', decode: decodeState, encode: encodeState as (v: never) => Uint8Array },
  { name: 'period', decode: decodePeriod, encode: encodePeriod as (v: never) => Uint8Array },
];

const vectors = loadManifest().vectors.map(readVector);

function mutate(r: () => number, src: Uint8Array): Uint8Array {
  const b = Array.from(src);
  const int = (n: number): number => Math.floor(r() * n);
  const rounds = 1 + int(4);
  for (let k = 0; k < rounds; k++) {
    const at = int(b.length + 1);
    switch (int(9)) {
      case 0: // flip a bit
        if (b.length) b[at % b.length]! ^= 1 << int(8);
        break;
      case 1: // set an interesting byte
        if (b.length) b[at % b.length] = [0x00, 0x80, 0x81, 0x82, 0xff, 0x7f, 0x30, 0x0c, 0x1f, 0xa0, 0x05][int(11)]!;
        break;
      case 2: // delete a run
        b.splice(at, 1 + int(4));
        break;
      case 3: // insert random bytes
        b.splice(at, 0, ...Array.from({ length: 1 + int(4) }, () => int(256)));
        break;
      case 4: // truncate
        b.length = int(b.length + 1);
        break;
      case 5: // duplicate a slice
        b.splice(at, 0, ...b.slice(int(b.length), int(b.length) + int(16)));
        break;
      case 6: // splice in a piece of another vector
        {
          const o = vectors[int(vectors.length)]!;
          const s = int(o.length);
          b.splice(at, int(8), ...o.subarray(s, s + 1 + int(24)));
        }
        break;
      case 7: // change a length byte to long form
        if (b.length > 2) {
          const i = at % (b.length - 1);
          b.splice(i + 1, 1, 0x81, b[i + 1]!);
        }
        break;
      default: // random byte
        if (b.length) b[at % b.length] = int(256);
    }
  }
  return Uint8Array.from(b);
}

function onlyProtocolErrors(input: Uint8Array, stats: { accepted: number; refused: Map<string, number> }): void {
  for (const c of codecs) {
    let value: unknown;
    try {
      value = c.decode(input);
    } catch (e) {
      if (!(e instanceof ProtocolError)) assert.fail(`${c.name} decoder threw ${String(e)} on ${Buffer.from(input).toString('hex')}`);
      assert.ok(e.message.length > 0 && typeof e.code === 'string');
      stats.refused.set(e.code, (stats.refused.get(e.code) ?? 0) + 1);
      continue;
    }
    stats.accepted++;
    // whatever we accept is one well-formed DER value that asn1js reads the same way,
    // and its canonical re-encoding decodes to the same value
    assert.deepEqual(asn1jsTree(input), derTree(input));
    let again: Uint8Array;
    try {
      again = c.encode(value as never);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      continue; // e.g. a time that an offset pushed outside 0000..9999
    }
    assert.deepEqual(c.decode(again), normalize(c.name, value));
  }
}

/** What re-encoding does on purpose: legacy forms are written in the current form, obsolete items dropped. */
function normalize(kind: string, v: unknown): unknown {
  if (kind === 'cmd') {
    const c = { ...(v as Record<string, unknown>) };
    delete c.legacy;
    return c;
  }
  if (kind === 'state') {
    return (v as { type: string; legacy?: true }[]).filter((i) => i.type !== 'obsolete').map((i) => {
      const { legacy: _legacy, ...rest } = i;
      return rest;
    });
  }
  return v;
}

test(`${CASES} mutated vectors meet only ProtocolErrors (seed ${SEED})`, () => {
  const r = rng(SEED);
  const stats = { accepted: 0, refused: new Map<string, number>() };
  for (let i = 0; i < CASES; i++) onlyProtocolErrors(mutate(r, vectors[i % vectors.length]!), stats);
  // the mutations reach many distinct refusals, and some mutants are still valid
  assert.ok(stats.refused.size >= 10, `refusal codes seen: ${[...stats.refused.keys()].join(', ')}`);
  assert.ok(stats.accepted > 0);
});

test('random bytes and random frames through the FrameReader meet only ProtocolErrors', () => {
  const r = rng(SEED + 1);
  const int = (n: number): number => Math.floor(r() * n);
  const limit = 4096;
  let frames = 0;
  for (let i = 0; i < 5000; i++) {
    const reader = new FrameReader({ maxFrameBytes: limit });
    const parts: Uint8Array[] = [];
    for (let k = int(6); k >= 0; k--) {
      parts.push(r() < 0.5 ? frame(mutate(r, vectors[int(vectors.length)]!)) : Uint8Array.from({ length: int(40) }, () => int(256)));
    }
    const wire = Buffer.concat(parts);
    try {
      for (let p = 0; p < wire.length; ) {
        const n = 1 + int(64);
        for (const payload of reader.push(wire.subarray(p, p + n))) {
          frames++;
          assert.ok(payload.length <= limit);
          try {
            decodeCmd(payload);
          } catch (e) {
            if (!(e instanceof ProtocolError)) throw e;
          }
        }
        assert.ok(reader.buffered <= limit + 8, 'never holds more than one frame');
        p += n;
      }
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      assert.equal(e.code, 'ERR_FRAME_TOO_LARGE');
    }
  }
  assert.ok(frames > 1000);
});

test('huge length prefixes are refused before anything is buffered or allocated', () => {
  const r = rng(SEED + 2);
  const limit = 1024 * 1024;
  const before = process.memoryUsage().arrayBuffers;
  for (let i = 0; i < 10_000; i++) {
    const reader = new FrameReader({ maxFrameBytes: limit });
    const header = Buffer.alloc(8);
    header.writeUInt32BE(Math.floor(r() * 2 ** 32), 0);
    header.writeUInt32BE(Math.floor(r() * 2 ** 32), 4);
    if (header.readUInt32BE(0) === 0 && header.readUInt32BE(4) <= limit) header[0] = 1;
    const split = Math.floor(r() * 8);
    assert.deepEqual(reader.push(header.subarray(0, split)), []);
    assert.throws(
      () => reader.push(Buffer.concat([header.subarray(split), Buffer.alloc(16)])),
      (e: unknown) => e instanceof ProtocolError && e.code === 'ERR_FRAME_TOO_LARGE',
    );
    assert.equal(reader.midFrame, false, 'no body was started');
  }
  // 10,000 refused frames of up to 2^64 bytes each left the ArrayBuffer memory where it was
  assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024);
});
