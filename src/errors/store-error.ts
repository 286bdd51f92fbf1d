import { BuilderError } from './builder-error.ts';

/** An error of the persistent store; callers match on `code`. */
export class StoreError extends BuilderError {}

export const storeErrors = {
  open: (dir: string, cause: unknown) =>
    new StoreError('ERR_STORE_OPEN', `cannot open the store in ${dir}: ${(cause as Error)?.message ?? String(cause)}`, {
      cause,
    }),
  readOnly: (what: string) => new StoreError('ERR_STORE_READ_ONLY', `the store is open read-only: cannot ${what}`),
  outsideTransaction: (what: string) =>
    new StoreError('ERR_STORE_NO_TRANSACTION', `${what} must run inside store.transaction(fn)`),
  closed: () => new StoreError('ERR_STORE_CLOSED', 'the store is closed'),
  asyncTransaction: () =>
    new StoreError(
      'ERR_STORE_ASYNC_TRANSACTION',
      'a store transaction function must be synchronous (it returned a promise); nothing was written',
    ),
  invalid: (why: string) => new StoreError('ERR_STORE_INVALID', why),
  locked: (dir: string) =>
    new StoreError('ERR_STORE_LOCKED', `another builder server is writing the store in ${dir}: one server per data directory`),
  reservedName: (name: string) =>
    new StoreError('ERR_STORE_RESERVED_NAME', `sub-database name ${JSON.stringify(name)} is reserved for the store`),
  schema: (found: unknown, supported: number) =>
    new StoreError(
      'ERR_STORE_SCHEMA',
      `the store has schema version ${String(found)}, this program supports up to ${supported}`,
    ),
};
