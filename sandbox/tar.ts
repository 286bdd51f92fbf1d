// Just enough tar (ustar, reading PAX and GNU long names) to move a job directory in and out of a container on a
// remote Docker engine, where the worker's directory cannot be bind-mounted.
import { SandboxError } from '../src/errors/sandbox-error.ts';

const BLOCK = 512;

export interface TarEntry {
  path: string;
  type: 'file' | 'dir';
  mode: number;
  data?: Uint8Array;
  uid?: number;
  gid?: number;
}

function putString(header: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new SandboxError('ERR_SANDBOX_SPEC', `tar field too long: ${value}`);
  bytes.copy(header, offset);
}

function putOctal(header: Buffer, offset: number, length: number, value: number): void {
  header.write(value.toString(8).padStart(length - 1, '0') + '\0', offset, length, 'latin1');
}

export function writeTar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const data = entry.type === 'file' ? Buffer.from(entry.data ?? new Uint8Array()) : Buffer.alloc(0);
    const header = Buffer.alloc(BLOCK);
    putString(header, 0, 100, entry.type === 'dir' && !entry.path.endsWith('/') ? entry.path + '/' : entry.path);
    putOctal(header, 100, 8, entry.mode);
    putOctal(header, 108, 8, entry.uid ?? 0);
    putOctal(header, 116, 8, entry.gid ?? 0);
    putOctal(header, 124, 12, data.length);
    putOctal(header, 136, 12, Math.floor(Date.now() / 1000));
    header.write(entry.type === 'dir' ? '5' : '0', 156, 1, 'latin1');
    header.write('ustar\u000000', 257, 8, 'latin1');
    header.fill(0x20, 148, 156);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
    parts.push(header, data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

function readString(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString('utf8');
}

function readNumber(block: Buffer, offset: number, length: number): number {
  const field = block.subarray(offset, offset + length);
  if (field[0]! & 0x80) {
    // GNU base-256 for large values
    let value = 0;
    for (let i = 1; i < length; i++) value = value * 256 + field[i]!;
    return value;
  }
  const text = field.toString('latin1').replace(/[\0 ]+$/, '').trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function paxPath(data: Buffer): string | undefined {
  let at = 0;
  let path: string | undefined;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space === -1) break;
    const length = Number(data.subarray(at, space).toString('latin1'));
    if (!Number.isInteger(length) || length <= 0) break;
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (record.slice(0, eq) === 'path') path = record.slice(eq + 1);
    at += length;
  }
  return path;
}

export interface TarItem {
  path: string;
  type: 'file' | 'dir' | 'other';
  data: Buffer;
}

/** The entries of a whole archive; symlinks, devices and the like come out as 'other', never followed. */
export function readTar(archive: Buffer): TarItem[] {
  const items: TarItem[] = [];
  let at = 0;
  let longName: string | undefined;
  while (at + BLOCK <= archive.length) {
    const header = archive.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) break;
    const size = readNumber(header, 124, 12);
    const typeflag = String.fromCharCode(header[156]!);
    const dataStart = at + BLOCK;
    if (dataStart + size > archive.length) throw new SandboxError('ERR_SANDBOX_DOCKER', 'truncated tar archive from the engine');
    const data = archive.subarray(dataStart, dataStart + size);
    at = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (typeflag === 'x' || typeflag === 'L') {
      longName = typeflag === 'x' ? paxPath(data) : data.toString('utf8').replace(/\0+$/, '');
      continue;
    }
    if (typeflag === 'g') continue;
    const prefix = header.subarray(257, 262).toString('latin1') === 'ustar' ? readString(header, 345, 155) : '';
    const name = readString(header, 0, 100);
    const path = longName ?? (prefix ? `${prefix}/${name}` : name);
    longName = undefined;
    const type = typeflag === '0' || typeflag === '\0' || typeflag === '7' ? 'file' : typeflag === '5' ? 'dir' : 'other';
    items.push({ path, type, data });
  }
  return items;
}
