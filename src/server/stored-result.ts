// A run's result as the store keeps it (history, the job actor's snapshot): a worker's failure
// message is cut to a bound; the result file keeps it whole. Large LMDB values on a nearly full disk
// are what the store's failure path handles worst, and nothing reads more than a line of it.
import type { Result } from '../protocol/types.ts';

export const STORED_MESSAGE_MAX = 4096;

export function storedResult(result: Result): Result {
  if (result.type !== 'msg' || result.message.length <= STORED_MESSAGE_MAX) return result;
  const more = result.message.length - STORED_MESSAGE_MAX;
  return { type: 'msg', message: `${result.message.slice(0, STORED_MESSAGE_MAX)}… (${more} more characters in the result file)` };
}
