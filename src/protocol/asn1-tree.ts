// A generic view of any DER value, built two independent ways: by our strict reader and by asn1js
// (a general BER parser). Tests check that both agree on every value we accept, and `builder inspect
// --asn1` prints the asn1js view of any file.
import * as asn1js from 'asn1js';
import { ProtocolError, ProtocolErrorCode as E } from '../errors/protocol-error.ts';
import { DerCursor, tagName } from './der.ts';

export interface Asn1Node {
  cls: number; // 0 universal, 1 application, 2 context, 3 private
  constructed: boolean;
  tagNo: number;
  /** hex of the content of a primitive */
  hex?: string;
  kids?: Asn1Node[];
}

/** The tree of one DER value as our strict reader sees it. */
export function derTree(der: Uint8Array): Asn1Node {
  const walk = (c: DerCursor, field: string): Asn1Node => {
    const tlv = c.next(field);
    const node: Asn1Node = { cls: tlv.cls, constructed: tlv.constructed, tagNo: tlv.tagNo };
    if (tlv.constructed) {
      const inner = c.enter(tlv, field);
      node.kids = [];
      while (!inner.atEnd()) {
        inner.checkCount(node.kids.length, field);
        node.kids.push(walk(inner, `${field}/${node.kids.length}`));
      }
    } else node.hex = Buffer.from(c.bytes(tlv)).toString('hex');
    return node;
  };
  const top = DerCursor.of(der, 'value');
  const tree = walk(top, 'value');
  top.done('value');
  return tree;
}

const CLASS = [-1, 0, 1, 2, 3]; // asn1js tagClass (1..4) to ours (0..3)

/** The tree of one value as asn1js parses it; refuses what DER forbids (indefinite length, trailing bytes). */
export function asn1jsTree(der: Uint8Array): Asn1Node {
  const buf = der.buffer.slice(der.byteOffset, der.byteOffset + der.length) as ArrayBuffer;
  const parsed = asn1js.fromBER(buf);
  if (parsed.offset === -1 || parsed.result.error) {
    throw new ProtocolError(E.TRUNCATED, `asn1js: ${parsed.result.error || 'cannot parse'}`);
  }
  if (parsed.offset !== der.length) throw new ProtocolError(E.TRAILING_BYTES, `asn1js: ${der.length - parsed.offset} trailing bytes`);
  const walk = (b: asn1js.AsnType): Asn1Node => {
    const base = b as asn1js.BaseBlock;
    if (base.lenBlock.isIndefiniteForm) throw new ProtocolError(E.INDEFINITE_LENGTH, 'asn1js: indefinite length');
    const node: Asn1Node = { cls: CLASS[base.idBlock.tagClass]!, constructed: base.idBlock.isConstructed, tagNo: base.idBlock.tagNumber };
    const value = (base.valueBlock as unknown as { value?: unknown }).value;
    if (node.constructed) {
      node.kids = (Array.isArray(value) ? value : []).map((k) => walk(k as asn1js.AsnType));
    } else {
      // the whole TLV as decoded, minus the header, is the content
      const all = base.valueBeforeDecodeView;
      node.hex = Buffer.from(all.subarray(all.length - base.lenBlock.length)).toString('hex');
    }
    return node;
  };
  return walk(parsed.result);
}

/** A readable dump of the asn1js view, one TLV per line. */
export function describeAsn1(der: Uint8Array): string {
  const lines: string[] = [];
  const walk = (n: Asn1Node, indent: string): void => {
    const name = tagName(n.cls, n.constructed, n.tagNo);
    if (n.kids) {
      lines.push(`${indent}${name} (${n.kids.length})`);
      for (const k of n.kids) walk(k, indent + '  ');
    } else {
      const bytes = Buffer.from(n.hex!, 'hex');
      const text = n.cls === 0 && n.tagNo === 2 && bytes.length > 0 ? String(bytes.reduce((v, b) => (v << 8n) | BigInt(b), 0n) - (bytes[0]! & 0x80 ? 1n << BigInt(8 * bytes.length) : 0n)) : bytes.length <= 80 && /^[\x20-\x7e]*$/.test(bytes.toString('latin1')) ? JSON.stringify(bytes.toString('latin1')) : `${bytes.length} bytes ${n.hex!.slice(0, 64)}${n.hex!.length > 64 ? '…' : ''}`;
      lines.push(`${indent}${name} ${text}`);
    }
  };
  walk(asn1jsTree(der), '');
  return lines.join('\n');
}
