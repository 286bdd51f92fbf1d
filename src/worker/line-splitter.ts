// Cuts a byte stream into console lines: on '\n' (removed, as the original's input_line does), any bytes kept as
// they are, a line longer than maxLineBytes cut into pieces of that size, and a last line without newline flushed
// by end(). The one place where console output becomes lines, for every sandbox.

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

export class LineSplitter {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly onLine: (line: Uint8Array) => void,
    private readonly maxLineBytes: number = DEFAULT_MAX_LINE_BYTES,
  ) {
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1) throw new RangeError(`maxLineBytes must be a positive integer, got ${maxLineBytes}`);
  }

  push(input: Uint8Array): void {
    // One copy of the whole chunk (the caller may reuse its buffer after push() returns); lines are views of it.
    const chunk = new Uint8Array(input);
    let start = 0;
    while (start < chunk.length) {
      const room = this.maxLineBytes - this.pendingBytes;
      const newline = chunk.indexOf(0x0a, start);
      const stop = newline === -1 ? chunk.length : newline;
      if (stop - start >= room) {
        // The line reaches the bound before its newline (or the chunk's end): emit a full piece.
        this.append(chunk.subarray(start, start + room));
        this.emit();
        start += room;
        // A newline right at the bound ends this same line, not an extra empty one.
        if (start === newline) start++;
        continue;
      }
      this.append(chunk.subarray(start, stop));
      if (newline === -1) return;
      this.emit();
      start = newline + 1;
    }
  }

  /** Flushes a last line that had no newline. */
  end(): void {
    if (this.pendingBytes > 0) this.emit();
  }

  private append(part: Uint8Array): void {
    if (part.length === 0) return;
    this.pending.push(part);
    this.pendingBytes += part.length;
  }

  private emit(): void {
    const line = this.pending.length === 1 ? this.pending[0]! : concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.onLine(line);
  }
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
