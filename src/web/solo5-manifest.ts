// The Solo5 device manifest and ABI of a unikernel binary, read from its ELF notes
// (`.note.solo5.manifest`, `.note.solo5.abi`, owner "Solo5"), in the JSON shape builder-web gives
// them (`solo5_manifest`, `solo5_abi`). ELF64 only, as Solo5 builds only those; anything malformed
// reads as no manifest.

export interface Solo5Manifest {
  type: 'solo5.manifest';
  version: number;
  devices: { name: string; type: 'NET_BASIC' | 'BLOCK_BASIC' }[];
}

export interface Solo5Abi {
  type: 'solo5.abi';
  target: string;
  version: number;
}

export interface Solo5Info {
  manifest: Solo5Manifest;
  abi: Solo5Abi;
}

const NOTE_OWNER = 'Solo5\0';
const MFT1 = 0x3154464d;
const ABI1 = 0x31494241;
const MFT_ENTRY_SIZE = 104;
const MFT_NAME_SIZE = 68;
const MFT_MAX_ENTRIES = 64;
const MFT_DEV_BLOCK_BASIC = 1;
const MFT_DEV_NET_BASIC = 2;
const MFT_RESERVED_FIRST = 1 << 30;
const ABI_TARGETS = ['hvt', 'spt', 'virtio', 'muen', 'genode', 'xen'];

class Malformed extends Error {}

function check(ok: boolean): void {
  if (!ok) throw new Malformed();
}

/** The descriptor of the note in the section called `name`, when it has Solo5's owner and `type`. */
function noteDesc(buf: Buffer, name: string, type: number): Buffer | undefined {
  check(buf.length >= 64 && buf.readUInt32BE(0) === 0x7f454c46 && buf[4] === 2);
  for (let i = 9; i < 16; i++) check(buf[i] === 0);
  const le = buf[5] === 1;
  check(le || buf[5] === 2);
  const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const u64 = (o: number) => {
    const v = le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o);
    check(v <= BigInt(buf.length));
    return Number(v);
  };
  const shoff = u64(0x28);
  const shentsize = u16(0x3a);
  const shnum = u16(0x3c);
  const shstrndx = u16(0x3e);
  check(shentsize >= 64 && shstrndx < shnum && shoff + shnum * shentsize <= buf.length);
  const section = (i: number) => {
    const o = shoff + i * shentsize;
    return { nameOff: u32(o), offset: u64(o + 24), size: u64(o + 32) };
  };
  const strtab = section(shstrndx);
  check(strtab.offset + strtab.size <= buf.length);
  const wanted = Buffer.from(name + '\0', 'latin1');
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (s.nameOff + wanted.length > strtab.size) continue;
    const at = strtab.offset + s.nameOff;
    if (!buf.subarray(at, at + wanted.length).equals(wanted)) continue;
    check(s.size >= 12 && s.offset + s.size <= buf.length);
    const namesz = u32(s.offset);
    const descsz = u32(s.offset + 4);
    if (u32(s.offset + 8) !== type || namesz !== NOTE_OWNER.length) return undefined;
    if (buf.toString('latin1', s.offset + 12, s.offset + 12 + namesz) !== NOTE_OWNER) return undefined;
    let off = s.offset + 12 + namesz;
    off += (4 - (off & 3)) & 3;
    check(off + descsz <= buf.length);
    return buf.subarray(off, off + descsz);
  }
  return undefined;
}

function manifestOf(d: Buffer): Solo5Manifest {
  // 4 bytes of padding (the note header is 20 bytes; the manifest is 8-byte aligned), version, entries
  check(d.length >= 12 + MFT_ENTRY_SIZE);
  const version = d.readUInt32LE(4);
  const entries = d.readUInt32LE(8);
  check(version === 1 && entries > 0 && entries <= MFT_MAX_ENTRIES && d.length === 12 + entries * MFT_ENTRY_SIZE);
  const devices: Solo5Manifest['devices'] = [];
  for (let i = 0; i < entries; i++) {
    const e = d.subarray(12 + i * MFT_ENTRY_SIZE, 12 + (i + 1) * MFT_ENTRY_SIZE);
    const nul = e.indexOf(0);
    check(nul >= 0 && nul < MFT_NAME_SIZE);
    // the device's runtime fields are zero in a binary
    check(e.subarray(72, 96).every((b) => b === 0) && e[96] === 0);
    const type = e.readUInt32LE(68);
    if (i === 0) {
      check(type === MFT_RESERVED_FIRST && e.subarray(0, MFT_NAME_SIZE).every((b) => b === 0));
      continue;
    }
    check(type === MFT_DEV_BLOCK_BASIC || type === MFT_DEV_NET_BASIC);
    devices.push({ name: e.toString('latin1', 0, nul), type: type === MFT_DEV_NET_BASIC ? 'NET_BASIC' : 'BLOCK_BASIC' });
  }
  return { type: 'solo5.manifest', version, devices };
}

function abiOf(d: Buffer): Solo5Abi {
  check(d.length === 16);
  const target = ABI_TARGETS[d.readUInt32LE(0) - 1];
  check(target !== undefined && d.readUInt32LE(8) === 0 && d.readUInt32LE(12) === 0);
  return { type: 'solo5.abi', target: target!, version: d.readUInt32LE(4) };
}

/** Both notes, or undefined (not ELF64, no Solo5 notes, or a malformed one). */
export function solo5Info(data: Uint8Array): Solo5Info | undefined {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  try {
    const mft = noteDesc(buf, '.note.solo5.manifest', MFT1);
    const abi = noteDesc(buf, '.note.solo5.abi', ABI1);
    return mft && abi ? { manifest: manifestOf(mft), abi: abiOf(abi) } : undefined;
  } catch (e) {
    if (e instanceof Malformed || e instanceof RangeError) return undefined;
    throw e;
  }
}
