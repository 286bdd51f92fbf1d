// `builder access add|remove USER JOB`: which jobs a restricted upload user may upload to.
import { BuilderError } from '../errors/builder-error.ts';
import { openRoot } from '../web/open-root.ts';
import { DEFAULT_DATA_DIR, parseFlags } from '../web/cli-flags.ts';
import { UserStore } from '../web/users.ts';

const usage = `usage: builder access [--dir=${DEFAULT_DATA_DIR}] add|remove USER JOB`;

export default async function access(argv: string[]): Promise<number> {
  let f;
  try {
    f = parseFlags(argv, ['dir'], ['help']);
  } catch (e) {
    process.stderr.write(`builder access: ${(e as Error).message} (see builder access --help)\n`);
    return 2;
  }
  if (f.switches.has('help')) {
    process.stdout.write(usage + '\n');
    return 0;
  }
  const [cmd, name, job, ...extra] = f.positionals;
  const wrong = !cmd
    ? 'missing add or remove'
    : cmd !== 'add' && cmd !== 'remove'
      ? `unknown command '${cmd}' (add or remove)`
      : !name || !job
        ? `${cmd} needs USER and JOB`
        : extra.length > 0
          ? `too many arguments: ${extra.join(' ')}`
          : undefined;
  if (wrong) {
    process.stderr.write(`builder access: ${wrong} (see builder access --help)\n`);
    return 2;
  }
  const store = await openRoot(f.values.get('dir') ?? DEFAULT_DATA_DIR);
  const root = store.root;
  try {
    const users = new UserStore(root);
    if (cmd === 'add') await users.grant(name, job);
    else await users.revoke(name, job);
    return 0;
  } catch (e) {
    if (!(e instanceof BuilderError)) throw e;
    process.stderr.write(`builder access: ${e.message}\n`);
    return 1;
  } finally {
    await store.close();
  }
}
