/** Every error of ours carries a stable `code` (as undici's do), so callers and tests match on codes, not messages. */
export class BuilderError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}
