// Test material for the web tests: Exec values as a builder server would upload them, an LMDB
// environment in a fresh directory, and HTTP helpers.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import type { RootDatabase } from 'lmdb';
import { openLmdbStore } from '../../src/store/lmdb-store.ts';
import { randomUuid } from '../../src/protocol/uuid.ts';
import type { Exec, File } from '../../src/protocol/types.ts';

export interface ExecSpec {
  job?: string;
  platform?: string;
  started?: Date;
  files?: Record<string, string | Uint8Array>;
  console?: string[];
  exitCode?: number;
}

/** An Exec with the console newest first, as the original writes it. */
export function makeExec(spec: ExecSpec = {}): Exec {
  const started = spec.started ?? new Date(Date.UTC(2024, 0, 1, 12));
  const lines = spec.console ?? ['building', 'done'];
  const files: File[] = Object.entries(spec.files ?? {}).map(([path, data]) => ({
    path,
    data: typeof data === 'string' ? new Uint8Array(Buffer.from(data)) : data,
  }));
  return {
    job: { type: 'script', name: spec.job ?? 'hello', script: '#!/bin/sh\necho hello\n', platform: spec.platform ?? 'debian-12' },
    uuid: randomUuid(),
    console: lines.map((l, i) => ({ delta: BigInt(i) * 1_500_000_000n, line: new Uint8Array(Buffer.from(l)) })).reverse(),
    started,
    finished: new Date(started.getTime() + 65_000),
    result: { type: 'exited', code: spec.exitCode ?? 0 },
    files,
  };
}

/** The three input files of a build; builds with equal inputs share an input id. */
export function inputFiles(variant: { env?: string; pkgs?: string; opam?: string } = {}): Record<string, string> {
  return {
    'build-environment': variant.env ?? 'PATH=/usr/bin:/bin\nLANG=C\nHOME=/root\n',
    'system-packages': variant.pkgs ?? 'gcc=12.2.0-14\nmake=4.3-4.1\nlibc6=2.36-9\n',
    'opam-switch': variant.opam ?? 'opam-version: "2.0"\ncompiler: ["ocaml-base-compiler.4.14.1"]\ninstalled: ["ocaml.4.14.1" "dune.3.7.0" "mirage.4.4.0"]\n',
  };
}

export interface TempEnv {
  dir: string;
  root: RootDatabase;
  cleanup(): Promise<void>;
}

/** The server's LMDB store in a fresh temp directory; the web keeps its sub-databases in the same environment. */
export async function tempEnv(): Promise<TempEnv> {
  const dir = await mkdtemp(join(tmpdir(), 'builder-web-'));
  const store = await openLmdbStore(dir);
  return {
    dir,
    root: store.root,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A plain HTTP request; resolves with the answer even when the server stops reading the body early. */
export function http(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: Uint8Array | (() => AsyncIterable<Uint8Array>) } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    const body = opts.body;
    if (body === undefined) req.end();
    else if (body instanceof Uint8Array) req.end(body);
    else
      (async () => {
        for await (const chunk of body()) {
          if (req.destroyed) return;
          if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
        }
        req.end();
      })().catch(() => undefined);
  });
}

export function basic(user: string, password: string): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
}
