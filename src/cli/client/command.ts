// What every client command shares: its declared arguments and options (from which --help is written),
// -r/--remote, --json and --color, argument parsing, and how errors become messages and exit codes
// (a bad command line: one line and exit 2, the usage only on --help; anything else 1).
import { parseArgs } from 'node:util';
import { ClientError, ClientErrorCode as E } from '../../errors/client-error.ts';
import { DEFAULT_REMOTE, resolveRemote, type Remote } from './remote.ts';
import { colorWanted, makeStyle, type Style } from './style.ts';
import { parseArgsMessage } from '../parse-args-message.ts';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** the value's name in --help (PERIOD, SECONDS) */
  value?: string;
  help: string;
  default?: string;
  /** the valid values, listed in --help and checked */
  values?: readonly string[];
}

export interface ArgSpec {
  name: string;
  help: string;
}

export interface Output {
  style: Style;
  json: boolean;
  /** a line (or lines) to stdout */
  print(text: string): void;
  /** raw bytes to stdout */
  write(bytes: Uint8Array | string): void;
  /** a line to stderr */
  note(text: string): void;
  /** one JSON document on stdout */
  printJson(value: unknown): void;
}

export interface Context {
  name: string;
  args: Record<string, string>;
  opts: Record<string, string | boolean | undefined>;
  remote: Remote;
  out: Output;
}

export interface ClientCommand {
  name: string;
  summary: string;
  args: ArgSpec[];
  options?: Record<string, OptionSpec>;
  /** what --json prints, for --help */
  json: string;
  /** extra paragraphs for --help */
  details?: string;
  run(ctx: Context): Promise<number>;
}

const common: Record<string, OptionSpec> = {
  remote: { type: 'string', short: 'r', value: 'HOST:PORT', help: `server address: a host name, an IPv4 address or [IPv6]; the port defaults to 1234 (default ${DEFAULT_REMOTE}, or env BUILDER_REMOTE)` },
  json: { type: 'boolean', help: 'print JSON on stdout instead of text' },
  color: { type: 'string', value: 'WHEN', help: 'colour the output', values: ['auto', 'always', 'never'], default: 'auto' },
  help: { type: 'boolean', short: 'h', help: 'this text' },
};

function optionHelp(name: string, o: OptionSpec): [string, string] {
  const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
  const extra: string[] = [];
  if (o.values && !o.values.every((v) => o.help.includes(v))) extra.push(`one of ${o.values.join(', ')}`);
  if (o.default !== undefined) extra.push(`default ${o.default}`);
  return [flag, extra.length ? `${o.help} (${extra.join('; ')})` : o.help];
}

export function usage(cmd: ClientCommand): string {
  const synopsis = [cmd.name, ...cmd.args.map((a) => a.name), '[options]'].join(' ');
  const rows: [string, string][] = [...cmd.args.map((a) => [`  ${a.name}`, a.help] as [string, string])];
  const opts = Object.entries({ ...(cmd.options ?? {}), ...common }).map(([n, o]) => optionHelp(n, o));
  const width = Math.max(...[...rows.map((r) => r[0].length), ...opts.map((o) => o[0].length + 2)]) + 2;
  const fmt = ([a, b]: [string, string]) => a.padEnd(width) + b;
  return [
    `usage: builder ${synopsis}`,
    `       builder-client ${synopsis}`,
    '',
    cmd.summary,
    ...(cmd.details ? ['', cmd.details] : []),
    '',
    ...(rows.length ? ['arguments:', ...rows.map(fmt), ''] : []),
    'options:',
    ...opts.map(([a, b]) => fmt([`  ${a}`, b])),
    '',
    `--json prints ${cmd.json}`,
    'Exit status: 0 on success, 1 when the server fails the command or cannot be reached, 2 on a bad command line.',
  ].join('\n');
}

function makeOutput(json: boolean, color: boolean): Output {
  return {
    style: makeStyle(color),
    json,
    print: (text) => void process.stdout.write(text + '\n'),
    write: (bytes) => void process.stdout.write(bytes),
    note: (text) => void process.stderr.write(text + '\n'),
    printJson: (value) => void process.stdout.write(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n'),
  };
}

export function usageError(message: string): ClientError {
  return new ClientError(E.USAGE, message);
}

/** Parses argv (after the command name), runs the command, and maps errors to messages and exit codes. */
export async function runCommand(cmd: ClientCommand, argv: string[]): Promise<number> {
  const specs = { ...(cmd.options ?? {}), ...common };
  let ctx: Context;
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        allowPositionals: true,
        strict: true,
        options: Object.fromEntries(Object.entries(specs).map(([n, o]) => [n, { type: o.type, ...(o.short ? { short: o.short } : {}) }])),
      });
    } catch (e) {
      throw usageError(parseArgsMessage(e));
    }
    const values = parsed.values as Record<string, string | boolean | undefined>;
    if (values.help) {
      process.stdout.write(usage(cmd) + '\n');
      return 0;
    }
    if (parsed.positionals.length !== cmd.args.length) {
      const want = cmd.args.length === 0 ? 'no arguments' : cmd.args.map((a) => a.name).join(' ');
      throw usageError(parsed.positionals.length < cmd.args.length ? `missing ${cmd.args.slice(parsed.positionals.length).map((a) => a.name).join(' ')}` : `too many arguments (expected ${want})`);
    }
    for (const [n, o] of Object.entries(specs)) {
      const v = values[n];
      if (typeof v === 'string' && o.values && !o.values.includes(v)) throw usageError(`--${n}: ${JSON.stringify(v)} is not one of ${o.values.join(', ')}`);
      if (v === undefined && o.default !== undefined) values[n] = o.default;
    }
    const json = values.json === true;
    const color = values.color === 'always' || (values.color === 'auto' && !json && colorWanted(process.stdout));
    ctx = {
      name: cmd.name,
      args: Object.fromEntries(cmd.args.map((a, i) => [a.name, parsed.positionals[i]!])),
      opts: values,
      remote: resolveRemote(values.remote as string | undefined),
      out: makeOutput(json, color),
    };
  } catch (e) {
    return report(cmd, e, false);
  }
  try {
    return await cmd.run(ctx);
  } catch (e) {
    return report(cmd, e, ctx.out.json);
  }
}

function report(cmd: ClientCommand, e: unknown, json: boolean): number {
  const err = e instanceof ClientError ? e : undefined;
  const message = err ? err.message : `internal error: ${(e as Error)?.stack ?? String(e)}`;
  if (err?.code === E.USAGE) {
    process.stderr.write(`builder ${cmd.name}: ${message} (see builder ${cmd.name} --help)\n`);
    return 2;
  }
  process.stderr.write(`builder ${cmd.name}: ${message}\n`);
  if (json) process.stdout.write(JSON.stringify({ ok: false, error: { code: err?.code ?? 'ERR_INTERNAL', message } }) + '\n');
  return err ? err.exitCode : 1;
}
