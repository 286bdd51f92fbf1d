// The client commands (`builder <cmd>`, `builder-client <cmd>`): argv starts at the command name.
// Each command lives in client/<name>.ts; this file only picks one.
import { runCommand, type ClientCommand } from './client/command.ts';

const commands: Record<string, () => Promise<{ default: ClientCommand }>> = {
  schedule: () => import('./client/schedule.ts'),
  'orb-build': () => import('./client/orb-build.ts'),
  unschedule: () => import('./client/unschedule.ts'),
  reschedule: () => import('./client/reschedule.ts'),
  execute: () => import('./client/execute.ts'),
  info: () => import('./client/info.ts'),
  observe: () => import('./client/observe.ts'),
  'observe-latest': () => import('./client/observe-latest.ts'),
  'drop-platform': () => import('./client/drop-platform.ts'),
  'undrop-platform': () => import('./client/undrop-platform.ts'),
  history: () => import('./client/history.ts'),
};

const usage = `usage: builder-client <command> [options]   (or: builder <command> [options])

commands:
  schedule NAME PLATFORM FILE   schedule a shell script (--period, --cron, --tz, --timeout)
  orb-build NAME OPAM           schedule a reproducible opam package build on every platform
  unschedule NAME               remove a job
  reschedule NAME NEXT          set a job's next run (RFC 3339), optionally its --period
  execute NAME                  run a job as soon as possible (--platform)
  info                          schedule, queues, running jobs, workers, dropped platforms
  observe UUID                  follow a run's console
  observe-latest                follow the run that started last (--platform, --job, --follow)
  history NAME                  the finished runs of a job
  drop-platform PLATFORM        remove a platform's queue and jobs, refuse new ones
  undrop-platform PLATFORM      accept a dropped platform again

Every command takes -r/--remote HOST:PORT (default 127.0.0.1:1234, or env BUILDER_REMOTE), --json and --help.`;

export default async function client(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage + '\n');
    return 0;
  }
  const load = name === undefined ? undefined : commands[name];
  if (!load) {
    if (name === undefined) process.stderr.write(`builder-client: missing command\n\n${usage}\n`);
    else process.stderr.write(`builder-client: unknown command '${name}' (see builder-client --help)\n`);
    return 2;
  }
  return runCommand((await load()).default, rest);
}
