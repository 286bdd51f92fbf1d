// Reads DER values from a file front to back through a small buffer, so a value of hundreds of megabytes
// (an artifact inside an uploaded Exec) can be located and skipped without being loaded.
import { open, type FileHandle } from 'node:fs/promises';
import { webErrors } from '../errors/web-error.ts';

const CHUNK = 1024 * 1024;

export interface Header {
  /** the identifier octet (the schema only uses low tag numbers) */
  id: number;
  /** bytes of identifier and length */
  headerLen: number;
  /** content bytes */
  len: number;
  /** file offset of the content */
  start: number;
}

export class DerFileReader {
  private buf = Buffer.alloc(0);
  /** file offset of buf[0] */
  private bufAt = 0;
  /** file offset of the next byte to read */
  pos = 0;

  private constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<DerFileReader> {
    const fh = await open(path, 'r');
    return new DerFileReader(fh, (await fh.stat()).size);
  }

  close(): Promise<void> {
    return this.fh.close();
  }

  /** Makes at least n bytes from pos available in buf (fewer only at the end of the file). */
  private async fill(n: number): Promise<void> {
    const have = this.bufAt + this.buf.length - this.pos;
    if (have >= n) return;
    const want = Math.max(n, CHUNK);
    const next = Buffer.allocUnsafe(want);
    const kept = Math.max(0, have);
    if (kept > 0) this.buf.copy(next, 0, this.pos - this.bufAt, this.pos - this.bufAt + kept);
    let filled = kept;
    while (filled < want && this.pos + filled < this.size) {
      const { bytesRead } = await this.fh.read(next, filled, want - filled, this.pos + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    this.buf = next.subarray(0, filled);
    this.bufAt = this.pos;
  }

  /** The next TLV header, without consuming it. */
  async peek(field: string): Promise<Header> {
    await this.fill(8);
    const b = this.buf.subarray(this.pos - this.bufAt);
    if (b.length < 2) throw webErrors.badUpload(`${field}: truncated`);
    const id = b[0]!;
    if ((id & 0x1f) === 0x1f) throw webErrors.badUpload(`${field}: unexpected long-form tag`);
    let len = b[1]!;
    let headerLen = 2;
    if (len === 0x80) throw webErrors.badUpload(`${field}: indefinite length (not DER)`);
    if (len > 0x80) {
      const n = len & 0x7f;
      if (n > 6 || b.length < 2 + n) throw webErrors.badUpload(`${field}: truncated length`);
      if (b[2] === 0) throw webErrors.badUpload(`${field}: length with a leading zero byte`);
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + b[2 + i]!;
      if (len < 0x80) throw webErrors.badUpload(`${field}: length ${len} in the long form`);
      headerLen += n;
    }
    const start = this.pos + headerLen;
    if (start + len > this.size) throw webErrors.badUpload(`${field}: value of ${len} bytes but only ${this.size - start} left`);
    return { id, headerLen, len, start };
  }

  /** Consumes a header that must have this identifier; returns it. */
  async enter(field: string, id: number, end: number): Promise<Header> {
    const h = await this.peek(field);
    if (h.id !== id) throw webErrors.badUpload(`${field}: expected identifier 0x${id.toString(16)}, got 0x${h.id.toString(16)}`);
    if (h.start + h.len > end) throw webErrors.badUpload(`${field}: longer than its enclosing value`);
    this.pos = h.start;
    return h;
  }

  /** The next whole TLV (header and content) as bytes, refused when its content exceeds max. */
  async tlv(field: string, max: number, end: number): Promise<Buffer> {
    const h = await this.peek(field);
    if (h.len > max) throw webErrors.badUpload(`${field}: ${h.len} bytes, more than the ${max} allowed`);
    if (h.start + h.len > end) throw webErrors.badUpload(`${field}: longer than its enclosing value`);
    const n = h.headerLen + h.len;
    await this.fill(n);
    const out = Buffer.from(this.buf.subarray(this.pos - this.bufAt, this.pos - this.bufAt + n));
    this.pos += n;
    return out;
  }

  skip(n: number): void {
    this.pos += n;
  }
}
