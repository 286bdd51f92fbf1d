// A build as robur's unikernel builds upload it: a real ELF binary with a symbol table (compiled
// here with gcc, freestanding, with OCaml-style module symbols) and Solo5's manifest and ABI notes, an `opam switch export` with the
// root package's opam file (synopsis, depends, url, x-mirage-opam-lock-location), the build
// environment, the system packages and a README.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Functions and tables named as OCaml and solo5 name them, of different sizes. */
function source(): string {
  const fns: string[] = [];
  const mods: [string, number][] = [
    ['camlMirage_crypto__Cipher_block__encrypt', 40],
    ['camlMirage_crypto__Hash__digest', 25],
    ['camlTcpip__Tcp_input__input', 30],
    ['camlTcpip__Ipv4__write', 12],
    ['camlStdlib__List__map', 8],
    ['camlStdlib__Hashtbl__add', 10],
    ['camlUnikernel__start', 6],
    ['solo5_console_write', 5],
    ['solo5_net_read', 4],
  ];
  mods.forEach(([name, n], i) => {
    const body = Array.from({ length: n }, (_, k) => `  x = x * ${k + 3} + ${i + 1}; if (x > ${1000 + k}) x ^= ${k + 7};`).join('\n');
    fns.push(`long ${name}_${100 + i}(long x) {\n${body}\n  return x;\n}`);
  });
  const tables = `long camlMirage_crypto__Tables_data[512] = {1};\nchar camlTcpip__Buffers_data[2048] = {1};`;
  const start = `void _start(void) { long v = 1;\n${mods.map(([name], i) => `  v += ${name}_${100 + i}(v);`).join('\n')}\n  for (;;) { __asm__ volatile("" :: "r"(v)); } }`;
  return `${tables}\n${fns.join('\n')}\n${start}\n${solo5Notes()}`;
}

/** The Solo5 devices the unikernel asks for (its manifest note) and its ABI note: hvt, version 2. */
export const SOLO5_DEVICES = [
  { name: 'service', type: 'NET_BASIC' },
  { name: 'storage', type: 'BLOCK_BASIC' },
] as const;

/** An ELF note as Solo5's linker script leaves it: owner "Solo5", the descriptor 4-byte aligned. */
function note(type: number, desc: Buffer): Buffer {
  const head = Buffer.alloc(20);
  head.writeUInt32LE(6, 0);
  head.writeUInt32LE(desc.length, 4);
  head.writeUInt32LE(type, 8);
  head.write('Solo5\0', 12, 'latin1');
  return Buffer.concat([head, desc]);
}

function solo5Notes(): string {
  const entry = (name: string, type: number) => {
    const e = Buffer.alloc(104);
    e.write(name, 0, 'latin1');
    e.writeUInt32LE(type, 68);
    return e;
  };
  const header = Buffer.alloc(12);
  header.writeUInt32LE(1, 4);
  header.writeUInt32LE(1 + SOLO5_DEVICES.length, 8);
  const mft = note(0x3154464d, Buffer.concat([header, entry('', 1 << 30), ...SOLO5_DEVICES.map((d) => entry(d.name, d.type === 'NET_BASIC' ? 2 : 1))]));
  const abiDesc = Buffer.alloc(16);
  abiDesc.writeUInt32LE(1, 0);
  abiDesc.writeUInt32LE(2, 4);
  const abi = note(0x31494241, abiDesc);
  const array = (name: string, section: string, b: Buffer) =>
    `__attribute__((section("${section}"), used, aligned(4))) const unsigned char ${name}[${b.length}] = {${[...b].join(',')}};`;
  return `${array('solo5_manifest_note', '.note.solo5.manifest', mft)}\n${array('solo5_abi_note', '.note.solo5.abi', abi)}\n`;
}

/** A freestanding static ELF binary with its symbol table (not stripped). */
export async function compileUnikernel(): Promise<Uint8Array> {
  const dir = await mkdtemp(join(tmpdir(), 'builder-elf-'));
  try {
    await writeFile(join(dir, 'unikernel.c'), source());
    await run('gcc', ['-O0', '-static', '-nostdlib', '-ffreestanding', '-fno-pie', '-no-pie', '-o', join(dir, 'unikernel.hvt'), join(dir, 'unikernel.c')]);
    return new Uint8Array(await readFile(join(dir, 'unikernel.hvt')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const PACKAGES: [string, string, string[]][] = [
  ['ocaml', '4.14.2', []],
  ['dune', '3.16.0', ['ocaml']],
  ['fmt', '0.9.0', ['ocaml', 'dune']],
  ['logs', '0.7.0', ['ocaml', 'fmt']],
  ['cstruct', '6.2.0', ['ocaml', 'dune', 'fmt']],
  ['mirage-crypto', '1.1.0', ['ocaml', 'dune', 'cstruct']],
  ['tcpip', '8.2.0', ['ocaml', 'dune', 'cstruct', 'logs', 'mirage-crypto', 'lwt']],
  ['lwt', '5.7.0', ['ocaml', 'dune']],
  ['mirage', '4.8.1', ['ocaml', 'dune', 'fmt', 'logs']],
  ['mirage-solo5', '0.9.0', ['ocaml', 'lwt', 'cstruct']],
  ['metrics', '0.4.1', ['ocaml', 'dune', 'fmt']],
];

export interface SwitchVariant {
  /** the source of the root package (a git URL with the commit) */
  src?: string;
  /** the tcpip version */
  tcpip?: string;
  /** add metrics-influx (the "with metrics" section) */
  metrics?: boolean;
  /** the root's x-opam-monorepo-duniverse-dirs: [url, directory, sha256] */
  duniverse?: [string, string, string][];
}

/** An `opam switch export --full --freeze` of a unikernel named `job`. */
export function opamSwitch(job: string, v: SwitchVariant = {}): string {
  const pkgs = PACKAGES.map(([n, ver, deps]) => [n, n === 'tcpip' && v.tcpip ? v.tcpip : ver, deps] as [string, string, string[]]);
  if (v.metrics) pkgs.push(['metrics-influx', '0.4.1', ['ocaml', 'metrics']]);
  const root: [string, string, string[]] = [job, 'dev', ['mirage', 'mirage-solo5', 'tcpip', 'mirage-crypto', 'logs', 'lwt']];
  const all = [...pkgs, root];
  const opam = ([n, ver, deps]: [string, string, string[]]) => {
    const lines = [
      `  opam-version: "2.0"`,
      `  name: "${n}"`,
      `  version: "${ver}"`,
      `  synopsis: "${n === job ? 'A DNS resolver unikernel, built reproducibly' : `The ${n} library`}"`,
      `  maintainer: "team@robur.coop"`,
      `  depends: [\n${deps.map((d) => `    "${d}" {>= "0.1"}`).join('\n')}\n  ]`,
      `  build: ["dune" "build" "-p" name "-j" jobs]`,
    ];
    if (n === job) {
      lines.push(`  x-mirage-opam-lock-location: "mirage/${job}-hvt.opam.locked"`);
      lines.push(`  url {\n    src: "${v.src ?? `git+https://git.robur.coop/robur/${job}.git#0123456789abcdef0123456789abcdef01234567`}"\n  }`);
      if (v.duniverse) {
        lines.push(`  x-opam-monorepo-duniverse-dirs: [\n${v.duniverse.map(([url, dir, sha]) => `    ["${url}" "${dir}" ["sha256=${sha}"]]`).join('\n')}\n  ]`);
      }
    } else {
      lines.push(`  url {\n    src: "https://opam.ocaml.org/cache/${n}-${ver}.tbz"\n    checksum: "sha256=${n.length.toString(16).padStart(64, 'a')}"\n  }`);
    }
    return `package "${n}" {\n${lines.join('\n')}\n}`;
  };
  return [
    'opam-version: "2.0"',
    'compiler: ["ocaml-base-compiler.4.14.2"]',
    `roots: ["${job}.dev"]`,
    `installed: [\n${all.map(([n, ver]) => `  "${n}.${ver}"`).join('\n')}\n]`,
    ...all.map(opam),
    '',
  ].join('\n');
}

export function unikernelReadme(job: string): string {
  return `# ${job}\n\nA **recursive DNS resolver** as a MirageOS unikernel.\n\n## Running\n\n\`\`\`\nsolo5-hvt --net:service=tap0 ${job}.hvt\n\`\`\`\n\nSee [the project page](https://robur.coop/Projects/Reproducible_builds).\n\n<script>alert("not run")</script>\n`;
}

export const BUILD_ENVIRONMENT = 'PATH=/usr/local/bin:/usr/bin:/bin\nLANG=C.UTF-8\nSOURCE_DATE_EPOCH=1700000000\n';
export const SYSTEM_PACKAGES = 'gcc=12.2.0-14\nbinutils=2.40-2\nlibgmp-dev=2:6.2.1+dfsg1-1.1\n';
