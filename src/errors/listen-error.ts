import { BuilderError } from './builder-error.ts';

/** A listener of the server (builder port, web, 9P) could not bind its address. */
export class ListenError extends BuilderError {
  constructor(
    readonly part: string,
    readonly host: string,
    readonly port: number,
    readonly flags: string,
    cause: NodeJS.ErrnoException,
  ) {
    const why =
      cause.code === 'EADDRINUSE'
        ? 'is in use'
        : cause.code === 'EACCES'
          ? 'needs privileges'
          : cause.code === 'EADDRNOTAVAIL'
            ? 'is not an address of this host'
            : `cannot be bound (${cause.code ?? cause.message})`;
    super(cause.code === 'EADDRINUSE' ? 'ERR_ADDRESS_IN_USE' : 'ERR_LISTEN', `${part} ${host}:${port} ${why}; choose another with ${flags}`, { cause });
  }
}

/** Rethrows a bind error of `part` as a ListenError naming the flags that change it. */
export function asListenError(e: unknown, part: string, host: string, port: number, flags: string): unknown {
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && (err as { syscall?: string }).syscall === 'listen') return new ListenError(part, host, port, flags, err);
  return e;
}
