// One wording for a job the server does not know: "unknown job NAME". The original server says it three
// ways (unschedule: "unknown job NAME", execute: "execute failed: job not found", reschedule: "couldn't
// find job NAME"); our server says "unknown job NAME" everywhere, and the client rewords the original's.
import { ClientError, ClientErrorCode as E } from '../../errors/client-error.ts';

const ORIGINAL = [/^execute failed: job not found$/, /^couldn't find job /];

export function unknownJobMessage(name: string): string {
  return `unknown job ${name}`;
}

/** Runs `f`; a Failure that is the original server's "no such job" becomes "unknown job NAME". */
export async function samePhrasing<T>(name: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof ClientError && e.code === E.FAILURE && ORIGINAL.some((re) => re.test(e.message))) {
      throw new ClientError(E.FAILURE, unknownJobMessage(name), { cause: e });
    }
    throw e;
  }
}
