// `builder user add|update|remove|disable|enable|list`: the upload accounts of the web frontend.
import { BuilderError } from '../errors/builder-error.ts';
import { openRoot } from '../web/open-root.ts';
import { DEFAULT_DATA_DIR, parseFlags, UsageError } from '../web/cli-flags.ts';
import { UserStore } from '../web/users.ts';

const usage = `usage: builder user [--dir=${DEFAULT_DATA_DIR}] COMMAND
  add NAME [--unrestricted] [--password=SECRET]   restricted unless --unrestricted (as builder-db);
                                                  password from --password, else the first line of stdin
  update NAME [--password=SECRET | --password-stdin] [--restricted | --unrestricted]
  remove NAME
  disable NAME
  enable NAME
  list [--json]
Restricted users upload only to existing jobs on their access list (builder access add USER JOB).`;

async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

export default async function user(argv: string[]): Promise<number> {
  let f;
  try {
    f = parseFlags(argv, ['dir', 'password'], ['restricted', 'unrestricted', 'password-stdin', 'json', 'help']);
  } catch (e) {
    process.stderr.write(`builder user: ${(e as Error).message} (see builder user --help)\n`);
    return 2;
  }
  const [cmd, name, ...extra] = f.positionals;
  if (f.switches.has('help')) {
    process.stdout.write(usage + '\n');
    return 0;
  }
  const needsName = cmd !== 'list';
  const commands = ['add', 'update', 'remove', 'disable', 'enable', 'list'];
  const wrong = !cmd
    ? `missing COMMAND (one of ${commands.join(', ')})`
    : !commands.includes(cmd)
      ? `unknown command '${cmd}' (one of ${commands.join(', ')})`
      : needsName && !name
        ? `${cmd} needs a user NAME`
        : extra.length > 0 || (!needsName && name !== undefined)
          ? `too many arguments: ${[...(needsName ? [] : [name!]), ...extra].join(' ')}`
          : undefined;
  if (wrong) {
    process.stderr.write(`builder user: ${wrong} (see builder user --help)\n`);
    return 2;
  }
  const store = await openRoot(f.values.get('dir') ?? DEFAULT_DATA_DIR);
  const root = store.root;
  try {
    const users = new UserStore(root);
    switch (cmd) {
      case 'add':
        // as builder-db's user-add: restricted unless --unrestricted (--restricted is accepted, and the default)
        if (f.switches.has('restricted') && f.switches.has('unrestricted')) throw new UsageError('--restricted and --unrestricted exclude each other');
        await users.add(name!, f.values.get('password') ?? (await readStdinLine()), !f.switches.has('unrestricted'));
        break;
      case 'update': {
        const password = f.values.get('password') ?? (f.switches.has('password-stdin') ? await readStdinLine() : undefined);
        const restricted = f.switches.has('restricted') ? true : f.switches.has('unrestricted') ? false : undefined;
        await users.update(name!, { ...(password !== undefined ? { password } : {}), ...(restricted !== undefined ? { restricted } : {}) });
        break;
      }
      case 'remove':
        await users.remove(name!);
        break;
      case 'disable':
      case 'enable':
        await users.update(name!, { disabled: cmd === 'disable' });
        break;
      case 'list': {
        const list = users.list();
        if (f.switches.has('json')) process.stdout.write(JSON.stringify(list) + '\n');
        else
          for (const u of list)
            process.stdout.write(
              `${u.name}\t${u.restricted ? 'restricted' : 'unrestricted'}${u.disabled ? '\tdisabled' : ''}${u.access.length ? `\taccess: ${u.access.join(',')}` : ''}\n`,
            );
      }
    }
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`builder user: ${e.message} (see builder user --help)\n`);
      return 2;
    }
    if (!(e instanceof BuilderError)) throw e;
    process.stderr.write(`builder user: ${e.message}\n`);
    return 1;
  } finally {
    await store.close();
  }
}
