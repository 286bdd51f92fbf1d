// `builder run`: a first look in one process. A server (data in ./data), the web page and the 9P file
// system, a local worker (process sandbox, --loop), and a sample job (examples/hello.sh) scheduled and
// followed until it has run; then it says where to look and keeps running until Ctrl-C.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createSandbox } from '../../sandbox/index.ts';
import { EventBus } from '../observability/events.ts';
import { attachLogger, type LogLevel } from '../observability/logger.ts';
import { destroyPool } from '../pool/pool.ts';
import { attachParts, type AttachedParts } from '../server/attach-parts.ts';
import { startServer, type RunningServer } from '../server/builder-server.ts';
import { runWorker } from '../worker/worker-loop.ts';
import { parseAddress } from './address.ts';
import { formatDuration } from './client/duration.ts';
import { call } from './client/session.ts';
import { colorWanted, makeStyle, resultStyle } from './client/style.ts';
import { ClientError } from '../errors/client-error.ts';
import { ListenError } from '../errors/listen-error.ts';
import { readFile } from 'node:fs/promises';
import { parseArgsMessage } from './parse-args-message.ts';

const SAMPLE = fileURLToPath(new URL('../../examples/hello.sh', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/builder.mjs', import.meta.url));

/**
 * How to type the `builder` command in another terminal: `npm install` does not put it on PATH, so the
 * bin/ script, relative when this directory holds it (`here`), else by its absolute path.
 */
function builderCommand(): { builder: string; here: boolean } {
  const rel = path.relative(process.cwd(), BIN);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return { builder: BIN, here: false };
  return { builder: `./${rel}`, here: true };
}

const usage = `usage: builder run [options]

Starts a builder server, its web page and 9P file system, and a local worker in this one process,
schedules a sample job and shows it running. Ctrl-C stops everything. For a real deployment run
\`builder server\` and \`builder worker PLATFORM\` separately.

  --dir DIR           data directory: the store and the results (default ./data)
  --port PORT         TCP port for clients and workers (default 1234)
  --web ADDR          web page address (default 127.0.0.1:3000); --no-web turns it off
  --9p ADDR           9P file system address (default 127.0.0.1:5640); --no-9p turns it off
  --platform NAME     the local worker's platform (default local)
  --sandbox NAME      the local worker's sandbox: process, bwrap or docker (default process)
  --image IMAGE       the image for --sandbox docker
  --sample FILE       the sample job's script (default examples/hello.sh)
  --sample-name NAME  the sample job's name (default hello)
  --no-sample         schedule nothing
  --exit-after-sample stop once the sample job has run (for scripts and tests)
  -v, --verbose       log the server's events (default: warnings only)
  -h, --help          this text`;

export default async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        dir: { type: 'string', default: './data' },
        port: { type: 'string', default: '1234' },
        web: { type: 'string', default: '127.0.0.1:3000' },
        'no-web': { type: 'boolean', default: false },
        '9p': { type: 'string', default: '127.0.0.1:5640' },
        'no-9p': { type: 'boolean', default: false },
        platform: { type: 'string', default: 'local' },
        sandbox: { type: 'string', default: 'process' },
        image: { type: 'string' },
        sample: { type: 'string', default: SAMPLE },
        'sample-name': { type: 'string', default: 'hello' },
        'no-sample': { type: 'boolean', default: false },
        'exit-after-sample': { type: 'boolean', default: false },
        verbose: { type: 'boolean', short: 'v', default: false },
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
  if (!Number.isInteger(port) || port < 0 || port > 65535) return usageError(`--port: not a port number: ${values.port}`);
  let web, ninep, sandbox;
  try {
    web = values['no-web'] ? undefined : parseAddress(values.web!, 3000);
    ninep = values['no-9p'] ? undefined : parseAddress(values['9p']!, 5640);
    sandbox = createSandbox({ name: values.sandbox!, ...(values.image ? { image: values.image } : {}) });
  } catch (e) {
    return usageError((e as Error).message);
  }
  let script: string | undefined;
  if (!values['no-sample']) {
    try {
      script = await readFile(values.sample!, 'utf8');
    } catch (e) {
      process.stderr.write(`builder run: cannot read the sample job ${values.sample}: ${(e as Error).message}\n`);
      return 1;
    }
  }

  const style = makeStyle(colorWanted(process.stdout));
  const say = (line: string) => void process.stdout.write(line + '\n');
  const tty = process.stdout.isTTY === true;
  const dir = path.resolve(values.dir!);
  const bus = new EventBus();
  attachLogger(bus, { level: (values.verbose ? 'info' : 'warn') as LogLevel, json: false });

  let parts: AttachedParts | undefined;
  let server: RunningServer;
  try {
    server = await startServer({
      host: '127.0.0.1',
      port,
      dir,
      configDir: path.join(dir, 'etc'),
      bus,
      attach: async (s) => (parts = await attachParts(s, { ...(web ? { web } : {}), ...(ninep ? { ninep } : {}), configDir: path.join(dir, 'etc') })),
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { address?: string; port?: number };
    const why = err.code === 'EADDRINUSE' ? `${err.address ?? '127.0.0.1'}:${err.port ?? ''} is in use (another builder? pick others with --port, --web, --9p, or --no-web, --no-9p)` : err.message;
    process.stderr.write(`builder run: cannot start the server: ${e instanceof ListenError ? e.message : why}\n`);
    await destroyPool();
    return e instanceof ListenError ? 2 : 1;
  }
  const remote = { host: '127.0.0.1', port: server.address.port };
  const remoteFlag = remote.port === 1234 ? '' : ` -r ${remote.host}:${remote.port}`;
  const { builder, here } = builderCommand();
  say(`${style.bold('builder')} server on ${remote.host}:${remote.port}, data in ${dir}`);
  if (parts?.web) say(`  web page      ${style.cyan(parts.web.url)}`);
  if (parts?.ninep) say(`  9P files      ${parts.ninep.host}:${parts.ninep.port}`);

  const stop = new AbortController();
  const abort = new AbortController();
  const worker = runWorker({
    host: remote.host,
    port: remote.port,
    platform: values.platform!,
    sandbox,
    loop: true,
    stop: stop.signal,
    abort: abort.signal,
    log: (m) => bus.log('info', `worker: ${m}`),
  }).catch((e) => {
    bus.log('error', `the local worker stopped: ${(e as Error).message}`);
    return 1;
  });
  say(`  local worker  platform ${values.platform}, ${values.sandbox} sandbox`);

  const platform = values.platform!;
  const sampleFile = values.sample!;
  const finished = new Promise<void>((resolve, reject) => {
    if (script === undefined) return resolve();
    followSample(values['sample-name']!, resolve).catch(reject);
  });

  async function followSample(name: string, done: () => void): Promise<void> {
    let uuid: string | undefined;
    // lines about the run wait until the line saying it was scheduled is out (the worker may be quicker)
    let held: string[] | undefined = [];
    const show = (line: string) => (held ? held.push(line) : say(line));
    const release = () => {
      const lines = held ?? [];
      held = undefined;
      lines.forEach(say);
      if (ended) done();
    };
    let ended = false;
    let timer: NodeJS.Timeout | undefined;
    const started = Date.now();
    const offs = [
      bus.on('job:assigned', (e) => {
        if (e.name !== name || uuid) return;
        uuid = e.uuid;
        if (timer) clearInterval(timer);
        if (tty && !held) process.stdout.write('\r\x1b[K');
        show(`${name} is running on worker ${e.workerId} (run ${e.uuid}):`);
      }),
      bus.on('job:output', (e) => {
        if (e.uuid !== uuid) return;
        show(`  ${style.dim(formatDuration(e.deltaNs))} ${Buffer.from(e.line).toString('utf8')}`);
      }),
      bus.on('job:finished', (e) => {
        if (e.uuid !== uuid) return;
        for (const off of offs) off();
        show(`${name} finished: ${resultStyle(style, e.result)}${e.path ? `, result in ${e.path}` : ''}`);
        show('');
        show(`Now try, in another terminal${here ? ` in ${process.cwd()}` : ''}:`);
        const b = (args: string) => `${builder} ${args}${remoteFlag}`;
        const tries: [string, string][] = [
          [b('info'), 'the schedule, queues, running jobs and workers'],
          [b(`history ${name}`), 'its runs'],
          [b('observe-latest --follow'), 'the console of each run as it starts, until Ctrl-C'],
          [b(`execute ${name}`), 'run it again now (the one above shows it)'],
          [b(`observe ${e.uuid}`), "this run's console"],
        ];
        const width = Math.max(...tries.map(([c]) => c.length)) + 2;
        for (const [c, what] of tries) show(`  ${c.padEnd(width)}${what}`);
        show('(`npm link` in this clone puts `builder` itself on your PATH.)');
        if (parts?.web) show(`  open ${parts.web.url}`);
        show('Ctrl-C stops the server and the worker.');
        ended = true;
        if (!held) done();
      }),
    ];
    try {
      await call(remote, { type: 'schedule', period: 'daily', job: { type: 'script', name, script: script!, platform } });
      say(`scheduled ${name} (${sampleFile}), daily, on platform ${platform}`);
    } catch (e) {
      if (!(e instanceof ClientError) || !/already used/.test(e.message)) throw e;
      await call(remote, { type: 'execute', name });
      say(`${name} was scheduled before: queued it to run now`);
    }
    release();
    if (uuid) return;
    if (tty) {
      timer = setInterval(() => process.stdout.write(`\r\x1b[Kwaiting for the worker to take ${name}... ${Math.round((Date.now() - started) / 1000)}s`), 250);
      timer.unref();
    } else {
      say(`waiting for the worker to take ${name}...`);
    }
  }

  const signalled = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  let code = 0;
  try {
    await (values['exit-after-sample'] ? Promise.race([finished, signalled]) : Promise.race([finished.then(() => signalled), signalled]));
  } catch (e) {
    process.stderr.write(`builder run: ${(e as Error).message}\n`);
    code = 1;
  }
  say('stopping...');
  stop.abort();
  abort.abort();
  await worker;
  await server.close();
  await sandbox.cleanup?.();
  await destroyPool();
  return code;
}

function usageError(message: string): number {
  process.stderr.write(`builder run: ${message} (see builder run --help)\n`);
  return 2;
}
