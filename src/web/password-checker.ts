// Password checks for the web: scrypt on a dedicated thread (not libuv's pool, see scrypt-worker.mjs), at most
// a few at a time, a per-address budget of failed checks, and a cache of recent successes so a busy uploader
// pays scrypt once per ttl. Over a limit the answer is 429 with Retry-After, before any scrypt runs.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Piscina } from 'piscina';
import type { Clock } from '../scheduler/clock.ts';
import { webErrors } from '../errors/web-error.ts';
import { webEvents } from './web-events.ts';
import type { UserRecord, UserStore } from './users.ts';

export interface PasswordCheckerOptions {
  /** checks running or queued at once; one more is refused with 429 */
  maxPending?: number;
  /** failed checks per address per window before 429 */
  failuresPerWindow?: number;
  windowMs?: number;
  /** how long a verified (user, password) is trusted without scrypt, while the user's record is unchanged */
  cacheTtlMs?: number;
  cacheSize?: number;
  /** scrypt threads */
  threads?: number;
}

interface CacheEntry {
  name: string;
  /** the record's salt and hash when verified: a password change, from any process, makes them differ */
  salt: string;
  hash: string;
  expires: number;
}

interface Failures {
  count: number;
  resetAt: number;
}

const MAX_TRACKED_ADDRESSES = 10_000;

export class PasswordChecker {
  private readonly pool: Piscina;
  /** keys the cache by HMAC(user, password) under a per-process secret: no password or plain hash in memory */
  private readonly secret = randomBytes(32);
  private readonly cache = new Map<string, CacheEntry>();
  private readonly failures = new Map<string, Failures>();
  private pending = 0;
  private decoy: Promise<Pick<UserRecord, 'salt' | 'hash' | 'scrypt'>> | undefined;
  private readonly o: Required<PasswordCheckerOptions>;

  constructor(
    private readonly users: UserStore,
    private readonly clock: Clock,
    opts: PasswordCheckerOptions = {},
  ) {
    this.o = {
      maxPending: opts.maxPending ?? 8,
      failuresPerWindow: opts.failuresPerWindow ?? 20,
      windowMs: opts.windowMs ?? 60_000,
      cacheTtlMs: opts.cacheTtlMs ?? 10 * 60_000,
      cacheSize: opts.cacheSize ?? 1024,
      threads: opts.threads ?? 1,
    };
    this.pool = new Piscina({
      filename: new URL('./scrypt-worker.mjs', import.meta.url).href,
      minThreads: 0,
      maxThreads: this.o.threads,
      idleTimeout: 30_000,
    });
  }

  /** The user for these credentials, or a WebError: 401 wrong, 429 over a limit. */
  async check(name: string, password: string, address: string): Promise<UserRecord> {
    const now = this.clock.now();
    const key = createHmac('sha256', this.secret).update(name).update('\0').update(password).digest('base64');
    const hit = this.cache.get(key);
    if (hit) {
      const u = this.users.get(name);
      if (hit.expires > now && u && !u.disabled && u.salt === hit.salt && u.hash === hit.hash) return u;
      this.cache.delete(key);
    }
    const f = this.failures.get(address);
    if (f && f.resetAt <= now) this.failures.delete(address);
    else if (f && f.count >= this.o.failuresPerWindow) {
      webEvents.authThrottled({ address, reason: 'failures' });
      throw webErrors.rateLimited(`too many failed password checks from ${address}`, Math.max(1, Math.ceil((f.resetAt - now) / 1000)));
    }
    if (this.pending >= this.o.maxPending) {
      webEvents.authThrottled({ address, reason: 'busy' });
      throw webErrors.rateLimited('too many password checks in progress', 1);
    }
    this.pending++;
    let u: UserRecord | undefined;
    try {
      u = await this.verify(name, password);
    } finally {
      this.pending--;
    }
    if (!u) {
      this.fail(address, this.clock.now());
      throw webErrors.unauthorized('wrong credentials');
    }
    if (this.cache.size >= this.o.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { name, salt: u.salt, hash: u.hash, expires: this.clock.now() + this.o.cacheTtlMs });
    return u;
  }

  /** Records a failed check for an address (a wrong password, or no credentials worth checking). */
  fail(address: string, now: number): void {
    const f = this.failures.get(address);
    if (f && f.resetAt > now) f.count++;
    else {
      if (this.failures.size >= MAX_TRACKED_ADDRESSES) this.prune(now);
      this.failures.set(address, { count: 1, resetAt: now + this.o.windowMs });
    }
  }

  private prune(now: number): void {
    for (const [a, f] of this.failures) if (f.resetAt <= now) this.failures.delete(a);
    // still full of live entries: forget the oldest rather than grow without bound
    while (this.failures.size >= MAX_TRACKED_ADDRESSES) this.failures.delete(this.failures.keys().next().value!);
  }

  private derive(password: string, target: Pick<UserRecord, 'salt' | 'scrypt'>): Promise<string> {
    return this.pool.run({ password, salt: target.salt, keylen: 32, ...target.scrypt }) as Promise<string>;
  }

  /** The user when name and password match an enabled account; an unknown user costs the same scrypt. */
  private async verify(name: string, password: string): Promise<UserRecord | undefined> {
    const u = this.users.get(name);
    const target = u ?? (await (this.decoy ??= this.makeDecoy()));
    const key = Buffer.from(await this.derive(password, target), 'hex');
    const expected = Buffer.from(target.hash, 'hex');
    const ok = key.length === expected.length && timingSafeEqual(key, expected);
    return u && ok && !u.disabled ? u : undefined;
  }

  private async makeDecoy(): Promise<Pick<UserRecord, 'salt' | 'hash' | 'scrypt'>> {
    const salt = randomBytes(16).toString('hex');
    const scrypt = { N: 16384, r: 8, p: 1 };
    return { salt, scrypt, hash: await this.derive(randomBytes(12).toString('hex'), { salt, scrypt }) };
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
