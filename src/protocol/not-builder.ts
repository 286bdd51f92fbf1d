// A peer whose first frame is no builder message (a web server, SSH, ...): named by the first line it
// sent when that line is readable, so "-r host:3000" reads as "not a builder server", not as a frame size.
import type { CmdSocket } from './cmd-socket.ts';

/** Keeps the first bytes the peer sends; call before the first read. */
export function watchFirstBytes(sock: CmdSocket): () => Buffer | undefined {
  let first: Buffer | undefined;
  sock.socket.once('data', (chunk: Buffer) => (first = chunk.subarray(0, 64)));
  return () => first;
}

/** "WHERE is not a builder server: it answered "..."" */
export function notBuilderText(where: string, first: Buffer | undefined): string {
  const line = first?.toString('latin1').split(/\r?\n/)[0] ?? '';
  const said = /^[\x20-\x7e]{4,}$/.test(line) ? `it answered ${JSON.stringify(line)}` : 'its answer is not the builder protocol';
  return `${where} is not a builder server: ${said}`;
}
