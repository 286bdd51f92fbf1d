// The symbol table of an ELF file (ELF32/ELF64, either byte order): every function and object
// symbol with a size, as the treemap needs them. No symbols for a stripped binary or a non-ELF file.

export interface ElfSymbol {
  name: string;
  size: number;
  kind: 'func' | 'object';
}

export interface ElfInfo {
  symbols: ElfSymbol[];
  fileSize: number;
}

const SHT_SYMTAB = 2;
const STT_OBJECT = 1;
const STT_FUNC = 2;

export function isElf(buf: Uint8Array): boolean {
  return buf.length >= 52 && buf[0] === 0x7f && buf[1] === 0x45 && buf[2] === 0x4c && buf[3] === 0x46;
}

export function elfSymbols(data: Uint8Array): ElfInfo {
  const out: ElfInfo = { symbols: [], fileSize: data.length };
  if (!isElf(data)) return out;
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const is64 = buf[4] === 2;
  const le = buf[5] !== 2;
  const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const u64 = (o: number) => Number(le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o));
  const word = (o: number) => (is64 ? u64(o) : u32(o));
  const shoff = word(is64 ? 0x28 : 0x20);
  const shentsize = u16(is64 ? 0x3a : 0x2e);
  const shnum = u16(is64 ? 0x3c : 0x30);
  if (shoff === 0 || shnum === 0 || shoff + shnum * shentsize > buf.length) return out;
  const section = (i: number) => {
    const o = shoff + i * shentsize;
    return is64
      ? { type: u32(o + 4), offset: u64(o + 0x18), size: u64(o + 0x20), link: u32(o + 0x28), entsize: u64(o + 0x38) }
      : { type: u32(o + 4), offset: u32(o + 0x10), size: u32(o + 0x14), link: u32(o + 0x18), entsize: u32(o + 0x24) };
  };
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (s.type !== SHT_SYMTAB || s.link >= shnum) continue;
    const strtab = section(s.link);
    const entsize = s.entsize || (is64 ? 24 : 16);
    if (s.offset + s.size > buf.length || strtab.offset + strtab.size > buf.length) continue;
    const name = (off: number) => {
      const start = strtab.offset + off;
      if (off >= strtab.size) return '';
      const end = buf.indexOf(0, start);
      return buf.toString('latin1', start, end < 0 || end > strtab.offset + strtab.size ? strtab.offset + strtab.size : end);
    };
    for (let o = s.offset; o + entsize <= s.offset + s.size; o += entsize) {
      const info = is64 ? buf[o + 4]! : buf[o + 12]!;
      const type = info & 0xf;
      if (type !== STT_FUNC && type !== STT_OBJECT) continue;
      const size = is64 ? u64(o + 16) : u32(o + 8);
      if (size <= 0) continue;
      const n = name(u32(o));
      if (n) out.symbols.push({ name: n, size, kind: type === STT_FUNC ? 'func' : 'object' });
    }
  }
  return out;
}
