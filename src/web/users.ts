// Upload users: salted scrypt hashes (builder-web's defaults N=16384, r=8, p=1), restricted or not,
// with per-user access lists of jobs. Secrets are compared in constant time.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Database, RootDatabase } from 'lmdb';
import { webErrors } from '../errors/web-error.ts';
import { PLAIN } from './build-store.ts';

export interface UserRecord {
  name: string;
  /** hex */
  salt: string;
  /** hex */
  hash: string;
  scrypt: { N: number; r: number; p: number };
  restricted: boolean;
  disabled: boolean;
}

export type PublicUser = Omit<UserRecord, 'salt' | 'hash'> & { access: string[] };

const PARAMS = { N: 16384, r: 8, p: 1 };
const KEY_LEN = 32;
const NAME = /^[A-Za-z0-9._@-]{1,64}$/;

function scrypt(password: string, salt: Buffer, params: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(password, salt, KEY_LEN, { ...params, maxmem: 64 * 1024 * 1024 }, (e, key) => (e ? reject(e) : resolve(key))),
  );
}

async function hashPassword(password: string): Promise<Pick<UserRecord, 'salt' | 'hash' | 'scrypt'>> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, PARAMS);
  return { salt: salt.toString('hex'), hash: key.toString('hex'), scrypt: { ...PARAMS } };
}

// Hashed once, so an unknown user costs the same scrypt as a known one.
let decoy: Promise<Pick<UserRecord, 'salt' | 'hash' | 'scrypt'>> | undefined;

export class UserStore {
  private readonly users: Database<UserRecord, string>;
  private readonly access: Database<true, string[]>;

  constructor(root: RootDatabase) {
    this.users = root.openDB<UserRecord, string>({ name: 'web-user', ...PLAIN });
    this.access = root.openDB<true, string[]>({ name: 'web-access', ...PLAIN });
  }

  get(name: string): UserRecord | undefined {
    return this.users.get(name);
  }

  async add(name: string, password: string, restricted = false): Promise<void> {
    if (!NAME.test(name)) throw webErrors.badUser(`bad user name ${JSON.stringify(name)} (letters, digits, . _ @ -)`);
    if (password.length === 0) throw webErrors.badUser('empty password');
    if (this.users.get(name)) throw webErrors.badUser(`user ${name} exists`);
    await this.users.put(name, { name, ...(await hashPassword(password)), restricted, disabled: false });
  }

  async update(name: string, changes: { password?: string; restricted?: boolean; disabled?: boolean }): Promise<void> {
    const u = this.users.get(name);
    if (!u) throw webErrors.badUser(`no user ${name}`);
    const next: UserRecord = { ...u };
    if (changes.password !== undefined) {
      if (changes.password.length === 0) throw webErrors.badUser('empty password');
      Object.assign(next, await hashPassword(changes.password));
    }
    if (changes.restricted !== undefined) next.restricted = changes.restricted;
    if (changes.disabled !== undefined) next.disabled = changes.disabled;
    await this.users.put(name, next);
  }

  async remove(name: string): Promise<void> {
    if (!this.users.get(name)) throw webErrors.badUser(`no user ${name}`);
    this.users.transactionSync(() => {
      this.users.removeSync(name);
      for (const key of this.access.getKeys({ start: [name, ''], end: [name, '\uffff'] })) this.access.removeSync(key);
    });
  }

  list(): PublicUser[] {
    return [...this.users.getRange()].map(({ value: u }) => ({
      name: u.name,
      scrypt: u.scrypt,
      restricted: u.restricted,
      disabled: u.disabled,
      access: this.jobsOf(u.name),
    }));
  }

  jobsOf(name: string): string[] {
    return [...this.access.getKeys({ start: [name, ''], end: [name, '\uffff'] })].map((k) => k[1]!);
  }

  async grant(name: string, job: string): Promise<void> {
    if (!this.users.get(name)) throw webErrors.badUser(`no user ${name}`);
    if (job.length === 0) throw webErrors.badUser('empty job name');
    await this.access.put([name, job], true);
  }

  async revoke(name: string, job: string): Promise<void> {
    if (!this.access.get([name, job])) throw webErrors.badUser(`user ${name} has no access to ${job}`);
    await this.access.remove([name, job]);
  }

  /** The user when name and password match an enabled account; undefined otherwise, in about the same time. */
  async verify(name: string, password: string): Promise<UserRecord | undefined> {
    const u = this.users.get(name);
    const target = u ?? (await (decoy ??= hashPassword(randomBytes(12).toString('hex'))));
    const key = await scrypt(password, Buffer.from(target.salt, 'hex'), target.scrypt);
    const ok = timingSafeEqual(key, Buffer.from(target.hash, 'hex'));
    return u && ok && !u.disabled ? u : undefined;
  }

  /** Unrestricted users upload anywhere; restricted ones only to existing jobs on their list. */
  mayUpload(u: UserRecord, job: string, jobExists: boolean): boolean {
    if (!u.restricted) return true;
    return jobExists && this.access.get([u.name, job]) === true;
  }
}
