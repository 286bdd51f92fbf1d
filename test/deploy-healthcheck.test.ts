// deploy/healthcheck.mjs, the image's HEALTHCHECK and the Kubernetes probes: its fixed frames are the project's
// encoding of ClientHello(client, 13) and ServerHello, and it passes against a real server only.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { encodeCmd } from '../src/protocol/cmd-codec.ts';
import { frame } from '../src/protocol/framing.ts';
import { CLIENT_VERSION } from '../src/protocol/types.ts';
import { runCli, startServerProcess, type ServerProc } from './helpers/cli-process.ts';

const HEALTHCHECK = new URL('../deploy/healthcheck.mjs', import.meta.url).pathname;
// @ts-expect-error: a plain JavaScript file without types
const { CLIENT_HELLO, SERVER_HELLO } = (await import('../deploy/healthcheck.mjs')) as { CLIENT_HELLO: Buffer; SERVER_HELLO: Buffer };

let server: ServerProc;
let http: Server;
before(async () => {
  server = await startServerProcess();
  http = createServer((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
});
after(async () => {
  await server.close();
  http.close();
});

test('the frames are the codec’s ClientHello(client, 13) and ServerHello', () => {
  assert.deepEqual(CLIENT_HELLO, Buffer.from(frame(encodeCmd({ type: 'client-hello', kind: 'client', version: CLIENT_VERSION }))));
  assert.deepEqual(SERVER_HELLO, Buffer.from(frame(encodeCmd({ type: 'server-hello' }))));
});

test('healthy against a builder server, from the argument or BUILDER_REMOTE', async () => {
  const byArg = await runCli([server.remote], { bin: HEALTHCHECK });
  assert.equal(byArg.status, 0, byArg.stderr);
  const byEnv = await runCli([], { bin: HEALTHCHECK, env: { BUILDER_REMOTE: server.remote } });
  assert.equal(byEnv.status, 0, byEnv.stderr);
});

test('unhealthy where nothing listens and against something that is not a builder server', async () => {
  const { port } = http.address() as { port: number };
  const other = await runCli([`127.0.0.1:${port}`], { bin: HEALTHCHECK });
  assert.equal(other.status, 1);
  assert.match(other.stderr, /not a builder server|closed the connection/);
  await server.stop();
  const gone = await runCli([server.remote], { bin: HEALTHCHECK });
  assert.equal(gone.status, 1);
  assert.match(gone.stderr, /ECONNREFUSED/);
});
