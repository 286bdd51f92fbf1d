#!/usr/bin/env node
// Container health check: sends a ClientHello and exits 0 once the ServerHello arrives (1 otherwise), then
// hangs up. An answered hello means the server's event loop runs, which a bare TCP connect (that the kernel
// accepts from its backlog) does not show. The two frames are fixed by the wire protocol (client protocol 13),
// so they are spelled out here: no dependency to load every 30 seconds. test/deploy-healthcheck.test.ts checks
// them against the project's codec.
//   node deploy/healthcheck.mjs [HOST:PORT]   (default: BUILDER_REMOTE, else 127.0.0.1:1234)
import net from 'node:net';
import { pathToFileURL } from 'node:url';

export const CLIENT_HELLO = Buffer.from('000000000000000bae093007a002050002010d', 'hex');
export const SERVER_HELLO = Buffer.from('0000000000000004af020500', 'hex');

export function parseAddress(text) {
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(text);
  if (!m) throw new Error(`not HOST:PORT: ${JSON.stringify(text)}`);
  return { host: m[1] ?? m[2], port: Number(m[3] ?? 1234) };
}

export function check({ host, port }, timeoutMs = 4000) {
  return new Promise((resolve) => {
    let got = Buffer.alloc(0);
    const socket = net.connect({ host, port });
    const done = (ok, why) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok, why });
    };
    const timer = setTimeout(() => done(false, `no ServerHello from ${host}:${port} within ${timeoutMs} ms`), timeoutMs);
    socket.on('connect', () => socket.write(CLIENT_HELLO));
    socket.on('data', (chunk) => {
      got = Buffer.concat([got, chunk]);
      if (got.length < SERVER_HELLO.length) return;
      if (got.subarray(0, SERVER_HELLO.length).equals(SERVER_HELLO)) done(true, `${host}:${port} answered`);
      else done(false, `${host}:${port} is not a builder server (answered ${got.subarray(0, 16).toString('hex')})`);
    });
    socket.on('error', (e) => done(false, `${host}:${port}: ${e.message}`));
    socket.on('close', () => done(false, `${host}:${port} closed the connection before the ServerHello`));
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { ok, why } = await check(parseAddress(process.argv[2] ?? process.env.BUILDER_REMOTE ?? '127.0.0.1:1234'));
  (ok ? process.stdout : process.stderr).write(`${why}\n`);
  process.exitCode = ok ? 0 : 1;
}
