// A build's console kept as one blob: the lines in wire order, each as delta (int64 ns) + length + bytes,
// so /exec can give the same console back and /console can render it.
import type { ConsoleLine } from '../protocol/types.ts';

export function encodeConsole(lines: ConsoleLine[]): Uint8Array {
  let size = 0;
  for (const l of lines) size += 12 + l.line.length;
  const out = Buffer.alloc(size);
  let at = 0;
  for (const l of lines) {
    out.writeBigInt64BE(BigInt.asIntN(64, l.delta), at);
    out.writeUInt32BE(l.line.length, at + 8);
    out.set(l.line, at + 12);
    at += 12 + l.line.length;
  }
  return out;
}

export function decodeConsole(blob: Uint8Array): ConsoleLine[] {
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const lines: ConsoleLine[] = [];
  let at = 0;
  while (at + 12 <= buf.length) {
    const delta = buf.readBigInt64BE(at);
    const len = buf.readUInt32BE(at + 8);
    lines.push({ delta, line: buf.subarray(at + 12, at + 12 + len) });
    at += 12 + len;
  }
  return lines;
}

/** Oldest first, whatever order the wire had (the original writes newest first). */
export function chronological(lines: ConsoleLine[]): ConsoleLine[] {
  return [...lines].reverse().sort((a, b) => (a.delta < b.delta ? -1 : a.delta > b.delta ? 1 : 0));
}

export function formatDelta(deltaNs: bigint): string {
  const ms = deltaNs / 1_000_000n;
  const sign = ms < 0n ? '-' : '';
  const abs = ms < 0n ? -ms : ms;
  return `${sign}${abs / 1000n}.${(abs % 1000n).toString().padStart(3, '0')}s`;
}

/** The console as builder-web writes it: oldest first, one line each, "<seconds>s:<line>". */
export function consoleText(lines: ConsoleLine[]): Buffer {
  const parts: Buffer[] = [];
  for (const l of chronological(lines)) {
    parts.push(Buffer.from(`${formatDelta(l.delta)}:`), Buffer.from(l.line), Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}
