// The sub-databases of the store inside the LMDB environment, and the checks on what becomes a key.
import type { Database } from 'lmdb';
import { storeErrors } from '../errors/store-error.ts';

/** Every sub-database the store owns starts with this; openSubDb refuses such names. */
export const STORE_DB_PREFIX = 'store/';

export const STORE_DBS = {
  /** name → ScheduleEntry */
  schedule: 'store/schedule',
  /** [next, name] → true, for entries not paused with a next time */
  scheduleDue: 'store/schedule-due',
  /** [platform, seq] → Job; the front is the smallest seq */
  queue: 'store/queue',
  /** [platform, name] → seq */
  queueNames: 'store/queue-names',
  /** platform → true: the queue exists, possibly empty */
  queuePlatforms: 'store/queue-platforms',
  /** platform → true */
  dropped: 'store/dropped',
  /** uuid → RunningJob */
  running: 'store/running',
  /** [kind, id] → snapshot */
  actors: 'store/actors',
  /** [jobName, startedAt, uuid] → HistoryRun */
  history: 'store/history',
  /** uuid → [jobName, startedAt] */
  historyUuid: 'store/history-uuid',
  /** id → OutboxEntry */
  outbox: 'store/outbox',
  /** key → value */
  meta: 'store/meta',
} as const;

export type StoreDbName = keyof typeof STORE_DBS;

/** The store's sub-databases as lmdb-js opened them. */
export type RawDbs = { [K in StoreDbName]: Database<any, any> };

// LMDB keys are at most 1978 bytes with lmdb-js; a composite key holds up to two of these.
const MAX_KEY_PART_BYTES = 900;

export function checkKeyPart(what: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw storeErrors.invalid(`${what} must be a non-empty string`);
  if (Buffer.byteLength(value) > MAX_KEY_PART_BYTES)
    throw storeErrors.invalid(`${what} is longer than ${MAX_KEY_PART_BYTES} bytes`);
  return value;
}

export function checkTime(what: string, value: unknown): number {
  if (typeof value !== 'number' || Number.isNaN(value)) throw storeErrors.invalid(`${what} must be a number (ms)`);
  return value;
}
