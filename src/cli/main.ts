// The `builder` entry: one executable, one file per subcommand under src/cli/, loaded on demand.
// The original program names (builder-server, builder-worker, builder-client, builder-inspect) are
// aliases that prefix their subcommand (see bin/).

import { readFileSync } from 'node:fs';

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, () => Promise<{ default: Command }>> = {
  server: () => import('./server.ts'),
  worker: () => import('./worker.ts'),
  inspect: () => import('./inspect.ts'),
  client: () => import('./client.ts'),
  run: () => import('./run.ts'),
  web: () => import('./web.ts'),
  user: () => import('./user.ts'),
  access: () => import('./access.ts'),
  vacuum: () => import('./vacuum.ts'),
};

// Client commands of the original builder-client, also reachable as `builder <cmd>`.
export const clientCommands = [
  'schedule',
  'orb-build',
  'unschedule',
  'reschedule',
  'execute',
  'info',
  'observe',
  'observe-latest',
  'drop-platform',
  'undrop-platform',
  'history',
];

const usage = `usage: builder <command> [options]

daemons:   server, worker PLATFORM, run (server + local worker + web, for a first look), web
clients:   ${clientCommands.join(', ')}
tools:     inspect, user, access, vacuum

builder <command> --help shows a command's options and defaults; builder --version the version.`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  // `builder ... | head` (or a reader that is gone): stop quietly, as a program killed by SIGPIPE, not with a stack trace
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      process.exit(process.exitCode ?? 0);
    });
  }
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    (name ? process.stdout : process.stderr).write(usage + '\n');
    return name ? 0 : 2;
  }
  // `--version` after any command too: the aliases (builder-server --version, ...) arrive as
  // `server --version`, builder-client's commands as `client info --version`
  const tail = name === 'client' && rest.length === 2 ? rest.slice(1) : rest;
  const known = name in commands || clientCommands.includes(name);
  const asked = known && tail.length === 1 && (tail[0] === '--version' || tail[0] === '-V');
  if (name === '--version' || name === '-V' || name === 'version' || asked) {
    process.stdout.write(`builder ${version()} (protocol: client 13, worker 5)\n`);
    return 0;
  }
  if (clientCommands.includes(name)) return (await commands.client!()).default(argv);
  const load = commands[name];
  if (!load) {
    process.stderr.write(`builder: unknown command '${name}' (see builder --help)\n`);
    return 2;
  }
  return (await load()).default(rest);
}
