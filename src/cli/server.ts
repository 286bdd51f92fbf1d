// `builder server` (alias `builder-server`): the original's flags, plus what a daemon needs.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { BuilderError } from '../errors/builder-error.ts';
import { ListenError } from '../errors/listen-error.ts';
import { StoreError } from '../errors/store-error.ts';
import { attachLogger, type LogLevel } from '../observability/logger.ts';
import { EventBus } from '../observability/events.ts';
import { startServer } from '../server/builder-server.ts';
import { attachParts } from '../server/attach-parts.ts';
import { parseAddress } from './address.ts';
import { parseArgsMessage } from './parse-args-message.ts';

const usage = `usage: builder server [options]   (alias: builder-server)

  --ip ADDR              listen address (default 127.0.0.1); the builder port and 9P have no
                         authentication: read docs/SECURITY.md before you choose another
  --port PORT            TCP port for clients and workers (default 1234)
  --dir DIR              persistent data: the LMDB store and results <dir>/<job>/<uuid>/full
                         (default /var/lib/builder, /var/db/builder on FreeBSD)
  --config-dir DIR       orb-build.template.<platform> files (default /etc/builder,
                         /usr/local/etc/builder on FreeBSD)
  --upload URL           POST every result to URL (HTTP Basic credentials from user:password in
                         the URL); failed uploads are kept and retried with backoff
  --timeout SECONDS      default job timeout (default 3600)
  --import-state FILE    import an original builder-server 'state' file before starting
  --web ADDR             web frontend address (default 127.0.0.1:3000); --no-web turns it off
  --9p ADDR              9P file system address (default 127.0.0.1:5640); --no-9p turns it off
  --max-frame-bytes N    largest accepted frame (default 268435456)
  --max-connections N    connections at once, clients and workers (default 20000, fewer when the
                         open-file limit is lower: 256 descriptors stay for the web, 9P and the store)
  --max-connections-per-address N
                         connections at once from one address (default 512)
  --command-timeout SECONDS
                         a client that sends no command, or a worker no job request, this long
                         after its hello is disconnected (default 30)
  --inspect URL          send actor events to a Stately inspector WebSocket (e.g. ws://127.0.0.1:8080)
  --log-level LEVEL      debug, info, warn or error (default info); -v is debug, -q is error
  --json-logs            log JSON lines instead of text
  -h, --help             this text`;

export default async function server(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        ip: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '1234' },
        dir: { type: 'string', default: process.platform === 'freebsd' ? '/var/db/builder' : '/var/lib/builder' },
        'config-dir': { type: 'string', default: process.platform === 'freebsd' ? '/usr/local/etc/builder' : '/etc/builder' },
        upload: { type: 'string' },
        timeout: { type: 'string', default: '3600' },
        'import-state': { type: 'string' },
        web: { type: 'string', default: '127.0.0.1:3000' },
        'no-web': { type: 'boolean', default: false },
        '9p': { type: 'string', default: '127.0.0.1:5640' },
        'no-9p': { type: 'boolean', default: false },
        'max-frame-bytes': { type: 'string' },
        'max-connections': { type: 'string' },
        'max-connections-per-address': { type: 'string' },
        'command-timeout': { type: 'string' },
        inspect: { type: 'string' },
        'log-level': { type: 'string', default: 'info' },
        'json-logs': { type: 'boolean', default: false },
        verbose: { type: 'boolean', short: 'v', multiple: true },
        quiet: { type: 'boolean', short: 'q', default: false },
        color: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: false,
    }));
  } catch (e) {
    return usageError(parseArgsMessage(e));
  }
  if (values.help) {
    process.stdout.write(usage + '\n');
    return 0;
  }
  const port = Number(values.port);
  const timeout = Number(values.timeout);
  const level = (values.quiet ? 'error' : values.verbose?.length ? 'debug' : values['log-level']) as LogLevel;
  if (!Number.isInteger(port) || port < 0 || port > 65535) return usageError(`--port: not a port number: ${values.port}`);
  if (values['command-timeout'] !== undefined && !(Number(values['command-timeout']) > 0)) return usageError(`--command-timeout: not a positive number of seconds: ${values['command-timeout']}`);
  if (!(timeout > 0)) return usageError(`--timeout: not a positive number of seconds: ${values.timeout}`);
  if (!['debug', 'info', 'warn', 'error'].includes(level)) return usageError(`--log-level: one of debug, info, warn, error`);
  for (const flag of ['max-frame-bytes', 'max-connections', 'max-connections-per-address'] as const) {
    const v = values[flag];
    if (v !== undefined && !(Number.isInteger(Number(v)) && Number(v) > 0)) return usageError(`--${flag}: not a positive integer: ${v}`);
  }
  let web, ninep;
  try {
    web = values['no-web'] ? undefined : parseAddress(values.web!, 3000);
    ninep = values['no-9p'] ? undefined : parseAddress(values['9p']!, 5640);
  } catch (e) {
    return usageError((e as Error).message);
  }
  if (values.upload !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(values.upload);
    } catch {}
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) return flagError(`--upload: not an http:// or https:// URL: ${values.upload}`);
  }
  if (values['import-state'] !== undefined) {
    try {
      await access(values['import-state'], constants.R_OK);
    } catch (e) {
      return flagError(`--import-state: cannot read ${values['import-state']}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
  }
  const bus = new EventBus();
  attachLogger(bus, { level, json: values['json-logs']! });
  let inspector: { inspect: any; stop(): void } | undefined;
  if (values.inspect) {
    const { createWebSocketInspector } = await import('@statelyai/inspect');
    inspector = createWebSocketInspector({ url: values.inspect });
  }
  // installed before the start: a SIGTERM sent as soon as "listening" is logged must stop, not kill, the server
  let stopRequested!: () => void;
  const stopped = new Promise<void>((resolve) => (stopRequested = resolve));
  process.once('SIGTERM', () => stopRequested());
  process.once('SIGINT', () => stopRequested());
  let server;
  try {
    server = await startServer({
    host: values.ip!,
    port,
    dir: values.dir!,
    configDir: values['config-dir']!,
    ...(values.upload ? { upload: values.upload } : {}),
    defaultTimeoutSeconds: timeout,
    ...(values['max-frame-bytes'] ? { maxFrameBytes: Number(values['max-frame-bytes']) } : {}),
    ...(values['max-connections'] ? { maxConnections: Number(values['max-connections']) } : {}),
    ...(values['max-connections-per-address'] ? { maxConnectionsPerAddress: Number(values['max-connections-per-address']) } : {}),
    ...(values['command-timeout'] ? { firstCommandTimeoutMs: Number(values['command-timeout']) * 1000 } : {}),
    ...(values['import-state'] ? { importState: values['import-state'] } : {}),
    ...(inspector ? { inspect: inspector.inspect } : {}),
    bus,
    attach: (s) => attachParts(s, { ...(web ? { web } : {}), ...(ninep ? { ninep } : {}), configDir: values['config-dir']! }),
    });
  } catch (e) {
    inspector?.stop();
    exitSoon();
    if (e instanceof ListenError) return flagError(e.message);
    if (values['import-state'] && (e as { code?: string }).code !== 'ERR_STORE_OPEN' && !(e instanceof StoreError)) {
      return flagError(`--import-state: cannot import ${values['import-state']}: ${(e as Error).message}`);
    }
    if (e instanceof BuilderError) return flagError(`--dir ${values.dir}: ${e.message}`);
    throw e;
  }
  // say what is open: the builder protocol and 9P have no authentication (docs/SECURITY.md)
  const loopback = (host: string) => /^(127\.|::1$|localhost$|\[::1\]$)/.test(host);
  const open = [
    ...(loopback(values.ip!) ? [] : [`the builder port (${values.ip}:${server.address.port})`]),
    ...(ninep && !loopback(ninep.host) ? [`9P (${ninep.host}:${ninep.port})`] : []),
  ];
  if (open.length > 0) {
    bus.log('warn', `${open.join(' and ')} listen beyond loopback with no authentication: whoever reaches them can run commands on the workers; see docs/SECURITY.md`);
  }
  await stopped;
  bus.log('info', 'shutting down');
  await server.close();
  inspector?.stop();
  exitSoon();
  return 0;
}

/** An inspector WebSocket reconnecting to nothing keeps the event loop alive: SIGTERM must still stop the server. */
function exitSoon(): void {
  setTimeout(() => process.exit(process.exitCode ?? 0), 1000).unref();
}

function flagError(message: string): number {
  process.stderr.write(`builder server: ${message}\n`);
  return 2;
}

function usageError(message: string): number {
  process.stderr.write(`builder server: ${message} (see builder server --help)\n`);
  return 2;
}
