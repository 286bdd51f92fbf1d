// Wire framing: an 8-byte big-endian length, then that many bytes of DER.
import { ProtocolError, ProtocolErrorCode as E } from '../errors/protocol-error.ts';

export const HEADER_BYTES = 8;
export const DEFAULT_MAX_FRAME_BYTES = 256 * 1024 * 1024;
export const DEFAULT_HELLO_MAX_FRAME_BYTES = 64 * 1024;

export function frameHeader(length: number): Uint8Array {
  const h = Buffer.alloc(HEADER_BYTES);
  h.writeUInt32BE(Math.floor(length / 2 ** 32), 0);
  h.writeUInt32BE(length >>> 0, 4);
  return h;
}

/** One whole frame: the length prefix followed by the payload (copied once). */
export function frame(payload: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out.set(frameHeader(payload.length), 0);
  out.set(payload, HEADER_BYTES);
  return out;
}

/**
 * Incremental frame reader: push socket chunks in, get whole payloads out. A length above the limit
 * throws ERR_FRAME_TOO_LARGE as soon as the 8 header bytes are in, before anything is allocated.
 * Payloads contained in one chunk are returned as views of that chunk (no copy).
 */
export class FrameReader {
  private maxFrameBytes: number;
  private header = new Uint8Array(HEADER_BYTES);
  private headerFill = 0;
  private body: Uint8Array | undefined;
  private bodyFill = 0;
  private failure: ProtocolError | undefined;

  constructor(opts: { maxFrameBytes: number }) {
    this.maxFrameBytes = opts.maxFrameBytes;
  }

  setMaxFrameBytes(n: number): void {
    this.maxFrameBytes = n;
  }

  get limit(): number {
    return this.maxFrameBytes;
  }

  /** True while part of a frame (header or body) has been read. */
  get midFrame(): boolean {
    return this.headerFill > 0 || this.body !== undefined;
  }

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.headerFill + this.bodyFill;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.pushEach(chunk, (payload) => out.push(payload));
    return out;
  }

  /**
   * Like push, but hands each payload to onFrame as soon as it is complete, so that onFrame may
   * change the limit (e.g. raise it after the hello) before the next header of the same chunk is read.
   */
  pushEach(chunk: Uint8Array, onFrame: (payload: Uint8Array) => void): void {
    if (this.failure) throw this.failure;
    const out = { push: onFrame };
    let p = 0;
    const n = chunk.length;
    while (p < n) {
      if (this.body) {
        const take = Math.min(this.body.length - this.bodyFill, n - p);
        this.body.set(chunk.subarray(p, p + take), this.bodyFill);
        this.bodyFill += take;
        p += take;
        if (this.bodyFill === this.body.length) {
          out.push(this.body);
          this.body = undefined;
          this.bodyFill = 0;
        }
        continue;
      }
      let len: number;
      if (this.headerFill === 0 && n - p >= HEADER_BYTES) {
        len = this.lengthOf(chunk, p);
        p += HEADER_BYTES;
      } else {
        const take = Math.min(HEADER_BYTES - this.headerFill, n - p);
        this.header.set(chunk.subarray(p, p + take), this.headerFill);
        this.headerFill += take;
        p += take;
        if (this.headerFill < HEADER_BYTES) break;
        this.headerFill = 0;
        len = this.lengthOf(this.header, 0);
      }
      if (n - p >= len) {
        out.push(new Uint8Array(chunk.buffer, chunk.byteOffset + p, len));
        p += len;
      } else {
        this.body = new Uint8Array(len);
        this.bodyFill = 0;
      }
    }
  }

  private lengthOf(b: Uint8Array, at: number): number {
    const view = new DataView(b.buffer, b.byteOffset + at, HEADER_BYTES);
    const hi = view.getUint32(0);
    const lo = view.getUint32(4);
    const len = hi * 2 ** 32 + lo;
    if (hi >= 2 ** 21 || len > this.maxFrameBytes) {
      const shown = hi >= 2 ** 21 ? `${(BigInt(hi) << 32n) | BigInt(lo)}` : String(len);
      this.failure = new ProtocolError(E.FRAME_TOO_LARGE, `frame of ${shown} bytes exceeds the limit of ${this.maxFrameBytes} bytes`);
      throw this.failure;
    }
    return len;
  }
}
