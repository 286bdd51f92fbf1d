// `builder web`: the web frontend alone (no scheduler attached: no live page), on a data directory.
import { destroyPool } from '../pool/pool.ts';
import { openRoot } from '../web/open-root.ts';
import { DEFAULT_DATA_DIR, parseFlags, UsageError } from '../web/cli-flags.ts';
import { startWebServer } from '../web/web-server.ts';
import { DEFAULT_MAX_UPLOAD_BYTES } from '../web/upload.ts';

const usage = `usage: builder web [--ip=127.0.0.1] [--port=3000] [--dir=${DEFAULT_DATA_DIR}] [--config-dir=/etc/builder-web] [--max-upload-bytes=${DEFAULT_MAX_UPLOAD_BYTES}] [--expired-jobs=30]

Serves the builds of --dir (its LMDB store and _artifacts/) and accepts builder-web uploads at POST /upload.
Upload hooks: executable <config-dir>/upload-hooks/*.sh.
--expired-jobs N: / lists jobs whose latest successful build finished in the last N days (0: all), as builder-web.`;

export default async function web(argv: string[]): Promise<number> {
  let f;
  try {
    f = parseFlags(argv, ['ip', 'port', 'dir', 'config-dir', 'max-upload-bytes', 'expired-jobs'], ['help']);
    if (f.switches.has('help')) {
      process.stdout.write(usage + '\n');
      return 0;
    }
    if (f.positionals.length > 0) throw new UsageError(`unexpected argument ${f.positionals[0]}`);
  } catch (e) {
    process.stderr.write(`builder web: ${(e as Error).message} (see builder web --help)\n`);
    return 2;
  }
  const port = Number(f.values.get('port') ?? 3000);
  const maxUploadBytes = Number(f.values.get('max-upload-bytes') ?? DEFAULT_MAX_UPLOAD_BYTES);
  const expiredJobsDays = Number(f.values.get('expired-jobs') ?? 30);
  if (!Number.isInteger(expiredJobsDays) || expiredJobsDays < 0) {
    process.stderr.write(`builder web: --expired-jobs takes a number of days (0: never) (see builder web --help)\n`);
    return 2;
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535 || !Number.isInteger(maxUploadBytes) || maxUploadBytes < 1) {
    process.stderr.write(`builder web: bad --port or --max-upload-bytes (see builder web --help)\n`);
    return 2;
  }
  const dir = f.values.get('dir') ?? DEFAULT_DATA_DIR;
  const store = await openRoot(dir);
  const root = store.root;
  const server = await startWebServer({
    host: f.values.get('ip') ?? '127.0.0.1',
    port,
    dataDir: dir,
    root,
    configDir: f.values.get('config-dir') ?? '/etc/builder-web',
    maxUploadBytes,
    expiredJobsDays,
  });
  process.stdout.write(`builder web: listening on ${server.address.url}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  await store.close();
  await destroyPool();
  return 0;
}
