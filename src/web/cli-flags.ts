// The small flag syntax of the web commands: --name=value, --name value, --flag, and positionals.
export interface Flags {
  values: Map<string, string>;
  switches: Set<string>;
  positionals: string[];
}

export class UsageError extends Error {}

/** `valued` lists the flags that take a value; anything else starting with -- is a switch. */
export function parseFlags(argv: string[], valued: string[], switches: string[]): Flags {
  const out: Flags = { values: new Map(), switches: new Set(), positionals: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--') || arg === '--') {
      out.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (valued.includes(name)) {
      const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      out.values.set(name, value);
    } else if (switches.includes(name) && eq < 0) out.switches.add(name);
    else throw new UsageError(`unknown option --${name}`);
  }
  return out;
}

/** The server's default --dir, so `builder web|user|access|vacuum` find its store without flags. */
export const DEFAULT_DATA_DIR = process.platform === 'freebsd' ? '/var/db/builder' : '/var/lib/builder';
