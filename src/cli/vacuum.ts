// `builder vacuum`: builder-db's retention. Deleted builds keep their metadata and artifact hashes,
// so hash look-ups still answer; files no other build shares are removed.
import { destroyPool } from '../pool/pool.ts';
import { buildStoreFor, type VacuumPolicy } from '../web/build-store.ts';
import { openRoot } from '../web/open-root.ts';
import { DEFAULT_DATA_DIR, parseFlags, UsageError } from '../web/cli-flags.ts';

const usage = `usage: builder vacuum [--dir=${DEFAULT_DATA_DIR}] [--job=NAME] [--platform=P] [--dry-run] POLICY
  older-than DATE                 builds started before DATE (ISO 8601, e.g. 2024-01-31)
  older-than-days N               builds started more than N days ago
  except-latest N                 all but the latest N builds per job and platform
  except-latest-successful N      builds older than the N-th latest successful one, per job and platform`;

function policyOf(positionals: string[], now: number): Omit<VacuumPolicy, 'job' | 'platform'> {
  const [kind, arg, ...extra] = positionals;
  if (!arg || extra.length > 0) throw new UsageError('a policy and one argument');
  const n = Number(arg);
  switch (kind) {
    case 'older-than': {
      const t = Date.parse(arg);
      if (Number.isNaN(t)) throw new UsageError(`not a date: ${arg}`);
      return { kind, before: t };
    }
    case 'older-than-days':
      if (!(n >= 0)) throw new UsageError(`not a number of days: ${arg}`);
      return { kind: 'older-than', before: now - n * 86_400_000 };
    case 'except-latest':
    case 'except-latest-successful':
      if (!Number.isInteger(n) || n < 0) throw new UsageError(`not a count: ${arg}`);
      return { kind, keep: n };
  }
  throw new UsageError(`unknown policy ${kind}`);
}

export default async function vacuum(argv: string[]): Promise<number> {
  let policy: VacuumPolicy;
  let dir: string;
  let dryRun: boolean;
  try {
    const f = parseFlags(argv, ['dir', 'job', 'platform'], ['dry-run', 'help']);
    if (f.switches.has('help')) {
      process.stdout.write(usage + '\n');
      return 0;
    }
    const job = f.values.get('job');
    const platform = f.values.get('platform');
    policy = { ...policyOf(f.positionals, Date.now()), ...(job ? { job } : {}), ...(platform ? { platform } : {}) };
    dir = f.values.get('dir') ?? DEFAULT_DATA_DIR;
    dryRun = f.switches.has('dry-run');
  } catch (e) {
    process.stderr.write(`builder vacuum: ${(e as Error).message} (see builder vacuum --help)\n`);
    return 2;
  }
  const store = await openRoot(dir);
  const root = store.root;
  try {
    const web = buildStoreFor(root, dir);
    const builds = dryRun ? web.plan(policy) : await web.vacuum(policy);
    for (const b of builds) process.stdout.write(`${dryRun ? 'would remove' : 'removed'} ${b.job} ${b.platform} ${b.uuid} ${new Date(b.start).toISOString()}\n`);
    process.stdout.write(`${builds.length} build${builds.length === 1 ? '' : 's'} ${dryRun ? 'to remove' : 'removed'}\n`);
    return 0;
  } finally {
    await store.close();
    await destroyPool();
  }
}
