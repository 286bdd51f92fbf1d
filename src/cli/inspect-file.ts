// `builder inspect FILE`: a job result (`full`, an Exec), a state file, or one Cmd (framed or not).
// The flags of the original builder-inspect (--console, --script, --job, --output DIR) print and write
// exactly what it does; --json and --asn1 are ours.
import { constants } from 'node:fs';
import { mkdir, open, readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { ProtocolError } from '../errors/protocol-error.ts';
import { describeAsn1 } from '../protocol/asn1-tree.ts';
import { decodeCmd } from '../protocol/cmd-codec.ts';
import { decodeExec } from '../protocol/exec-codec.ts';
import { HEADER_BYTES } from '../protocol/framing.ts';
import { stringifyJson } from '../protocol/json.ts';
import { consoleLines, ppCmd, ppResult, ppScriptJob, ppStateItem } from '../protocol/pretty.ts';
import { decodeState } from '../protocol/state-codec.ts';
import type { Cmd, Exec, File, State } from '../protocol/types.ts';
import { uuidToString } from '../protocol/uuid.ts';

export const usage = `usage: builder inspect [options] FILE

FILE is a job result (the 'full' file), a state file, or one command (with or without its 8-byte frame).

  --console      print the console output (relative times and lines), as builder-inspect does
  --script       print the job's script
  --job          print the job's name and platform ("NAME on PLATFORM"; --json has the uuid)
  --output DIR   write every artifact under DIR (a path that would escape DIR is refused)
  --json         print the whole decoded value as JSON (bytes as {"$hex"} or {"$base64"})
  --asn1         print the DER structure (any file)
  --kind K       read FILE as K: exec, state or cmd (default: guessed)

Other modes (their options: builder inspect --state DIR --help, builder inspect --machine job --help):
  builder inspect --state DIR                          the actors and queues in a server's store (--dir DIR), read-only
  builder inspect --machine job|worker|supervisor      draw a state machine (--format mermaid|dot|json)`;

type Decoded = { kind: 'exec'; value: Exec } | { kind: 'state'; value: State } | { kind: 'cmd'; value: Cmd; framed: boolean };

export interface InspectOptions {
  file: string;
  console: boolean;
  script: boolean;
  job: boolean;
  output?: string;
  json: boolean;
  asn1: boolean;
  kind?: 'exec' | 'state' | 'cmd';
}

class UsageError extends Error {}

export function parseArgs(argv: string[]): InspectOptions {
  const o: Partial<InspectOptions> & { console: boolean; script: boolean; job: boolean; json: boolean; asn1: boolean } = {
    console: false, script: false, job: false, json: false, asn1: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--console':
      case '--script':
      case '--job':
      case '--json':
      case '--asn1':
        o[flag.slice(2) as 'console' | 'script' | 'job' | 'json' | 'asn1'] = true;
        break;
      case '--output':
        o.output = value();
        break;
      case '--kind': {
        const k = value();
        if (k !== 'exec' && k !== 'state' && k !== 'cmd') throw new UsageError(`--kind must be exec, state or cmd, not ${k}`);
        o.kind = k;
        break;
      }
      default:
        if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option ${a}`);
        if (o.file !== undefined) throw new UsageError(`one FILE only (got ${o.file} and ${a})`);
        o.file = a;
    }
  }
  if (o.file === undefined) throw new UsageError('FILE is missing');
  return o as InspectOptions;
}

function unframe(bytes: Uint8Array): Uint8Array | undefined {
  if (bytes.length < HEADER_BYTES) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const len = v.getUint32(0) * 2 ** 32 + v.getUint32(4);
  return len === bytes.length - HEADER_BYTES ? bytes.subarray(HEADER_BYTES) : undefined;
}

/** Decodes FILE's bytes as the given kind, or tries exec, state and cmd (framed, then bare). */
export function decodeAny(bytes: Uint8Array, kind?: 'exec' | 'state' | 'cmd'): Decoded {
  const payload = unframe(bytes);
  const attempts: (() => Decoded)[] = [];
  if (!kind || kind === 'exec') attempts.push(() => ({ kind: 'exec', value: decodeExec(bytes) }));
  if (!kind || kind === 'state') attempts.push(() => ({ kind: 'state', value: decodeState(bytes) }));
  if (!kind || kind === 'cmd') {
    if (payload) attempts.push(() => ({ kind: 'cmd', value: decodeCmd(payload), framed: true }));
    attempts.push(() => ({ kind: 'cmd', value: decodeCmd(bytes), framed: false }));
  }
  const errors: ProtocolError[] = [];
  for (const attempt of attempts) {
    try {
      return attempt();
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      errors.push(e);
    }
  }
  // report the error of the reading that got furthest: the one naming the deepest field
  errors.sort((a, b) => (b.field ?? '').length - (a.field ?? '').length);
  throw errors[0]!;
}

/** The target of each artifact under dir; refuses absolute paths and any path leaving dir. */
export function artifactTargets(dir: string, files: File[]): string[] {
  const root = path.resolve(dir);
  return files.map((f) => {
    if (f.path === '' || f.path.includes('\0') || path.isAbsolute(f.path)) throw new ProtocolError('ERR_PROTOCOL_INVALID_VALUE', `refusing artifact path ${JSON.stringify(f.path)}: not a relative path`);
    const target = path.resolve(root, f.path);
    if (!target.startsWith(root + path.sep)) throw new ProtocolError('ERR_PROTOCOL_INVALID_VALUE', `refusing artifact path ${JSON.stringify(f.path)}: it escapes ${dir}`);
    return target;
  });
}

async function writeArtifacts(dir: string, files: File[]): Promise<void> {
  const targets = artifactTargets(dir, files); // all checked before anything is written
  await mkdir(dir, { recursive: true });
  const root = await realpath(dir);
  for (let i = 0; i < files.length; i++) {
    const parent = path.dirname(targets[i]!);
    await mkdir(parent, { recursive: true });
    const real = await realpath(parent);
    if (real !== root && !real.startsWith(root + path.sep)) throw new ProtocolError('ERR_PROTOCOL_INVALID_VALUE', `refusing artifact path ${JSON.stringify(files[i]!.path)}: a symbolic link leads out of ${dir}`);
    const fh = await open(path.join(real, path.basename(targets[i]!)), constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
    try {
      await fh.writeFile(files[i]!.data);
    } finally {
      await fh.close();
    }
  }
}

function summary(d: Decoded): string[] {
  switch (d.kind) {
    case 'exec': {
      const e = d.value;
      return [
        `job result of ${ppScriptJob(e.job)}, uuid ${uuidToString(e.uuid)}`,
        `started at ${e.started.toISOString()}, finished at ${e.finished.toISOString()}: ${ppResult(e.result)}`,
        `${e.console.length} console lines, ${e.files.length} files`,
        ...e.files.map((f) => `  ${f.path}: ${f.data.length} bytes`),
      ];
    }
    case 'state':
      return [`state with ${d.value.length} items`, ...d.value.map(ppStateItem)];
    case 'cmd':
      return [`${d.framed ? 'framed ' : ''}command: ${ppCmd(d.value)}`];
  }
}

export async function inspectFile(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  let o: InspectOptions;
  try {
    if (argv.includes('--help') || argv.includes('-h')) {
      out(usage + '\n');
      return 0;
    }
    o = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`builder inspect: ${e.message} (see builder inspect --help)\n`);
    return 2;
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(o.file));
  } catch (e) {
    process.stderr.write(`builder inspect: cannot read ${o.file}: ${(e as Error).message}\n`);
    return 1;
  }
  try {
    if (o.asn1) {
      out(describeAsn1(unframe(bytes) ?? bytes) + '\n');
      if (!o.json && !o.console && !o.script && !o.job && !o.output) return 0;
    }
    const d = decodeAny(bytes, o.kind);
    const wantsExec = o.console || o.script || o.job || o.output !== undefined;
    if (wantsExec && d.kind !== 'exec') {
      process.stderr.write(`builder inspect: ${o.file} holds a ${d.kind}, not a job result; --console, --script, --job and --output need a job result\n`);
      return 2;
    }
    if (d.kind === 'exec') {
      const e = d.value;
      if (o.console) for (const l of consoleLines(e)) out(l + '\n');
      if (o.script) out(e.job.script + '\n');
      if (o.job) out(`${e.job.name} on ${e.job.platform ?? 'no-platform'}\n`);
      if (o.output !== undefined) await writeArtifacts(o.output, e.files);
    }
    if (o.json) out(stringifyJson({ kind: d.kind, value: d.value }) + '\n');
    if (!wantsExec && !o.json) for (const l of summary(d)) out(l + '\n');
    return 0;
  } catch (e) {
    if (e instanceof ProtocolError) {
      process.stderr.write(`builder inspect: ${o.file}: ${e.message} (${e.code})\n`);
      return 1;
    }
    const err = e as NodeJS.ErrnoException;
    process.stderr.write(`builder inspect: ${err.message}\n`);
    return 1;
  }
}
