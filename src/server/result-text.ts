import type { Result } from '../protocol/types.ts';

/** A result as the original prints it (Builder.pp_execution_result). */
export function resultText(r: Result): string {
  switch (r.type) {
    case 'exited':
      return `exited ${r.code}`;
    case 'signalled':
      return `signalled ${r.signal}`;
    case 'stopped':
      return `stopped ${r.signal}`;
    case 'msg':
      return `execution aborted: ${r.message}`;
  }
}
