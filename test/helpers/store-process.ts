// A second process on a store directory (test/store-child.ts), and a directory of its own per test.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('../store-child.ts', import.meta.url));

export async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'builder-store-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function child(args: string[]) {
  const p = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  p.stderr.on('data', (d) => (stderr += d));
  const lines = createInterface({ input: p.stdout })[Symbol.asyncIterator]();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    p.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    async line(): Promise<string> {
      const r = await lines.next();
      if (r.done) throw new Error(`child ended early: ${stderr}`);
      return r.value;
    },
    send: (s: string) => p.stdin.write(s + '\n'),
    end: () => p.stdin.end(),
    exited,
    stderr: () => stderr,
  };
}

