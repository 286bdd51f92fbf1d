// `builder inspect` (alias builder-inspect): picks the inspection mode from the arguments.
// Today there is one mode, a file (src/cli/inspect-file.ts); other modes (e.g. a server's state
// directory, a machine's state) plug in as further entries of `modes`, chosen by their flag.
type Mode = { flag: string | undefined; load: () => Promise<(argv: string[]) => Promise<number>> };

const modes: Mode[] = [
  { flag: '--state', load: async () => (await import('./inspect-state.ts')).inspectState },
  { flag: '--machine', load: async () => (await import('./inspect-machine.ts')).inspectMachine },
  // keep the file mode last: it is the default when no other mode's flag is given
  { flag: undefined, load: async () => (await import('./inspect-file.ts')).inspectFile },
];

export default async function inspect(argv: string[]): Promise<number> {
  const mode = modes.find((m) => m.flag !== undefined && argv.some((a) => a === m.flag || a.startsWith(`${m.flag}=`))) ?? modes[modes.length - 1]!;
  return (await mode.load())(argv);
}
