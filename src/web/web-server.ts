// The HTTP server of the web frontend: builder-web's pages and upload, plus the live state of our scheduler.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RootDatabase } from 'lmdb';
import { encodeExec } from '../protocol/exec-codec.ts';
import { uuidFromString } from '../protocol/uuid.ts';
import type { Exec } from '../protocol/types.ts';
import { systemClock, type Clock } from '../scheduler/clock.ts';
import { WebError, webErrors } from '../errors/web-error.ts';
import type { BuildRecord } from './build-record.ts';
import { HEX64 } from './artifact-store.ts';
import { buildStoreFor, type BuildStore } from './build-store.ts';
import { consoleText, decodeConsole, formatDelta } from './console-blob.ts';
import type { Hasher } from './hasher.ts';
import type { LiveState } from './live-state.ts';
import { recordBuild } from './record-build.ts';
import { tarGz } from './tar-gz.ts';
import { attachment } from './content-disposition.ts';
import { safeComponent } from './upload-path.ts';
import { rm } from 'node:fs/promises';
import { authenticate, DEFAULT_MAX_CONCURRENT_UPLOADS, DEFAULT_MAX_UPLOAD_BYTES, prepareSingleFile, prepareUpload, spoolUpload, uploadFailure, UploadSlots } from './upload.ts';
import { PasswordChecker, type PasswordCheckerOptions } from './password-checker.ts';
import { uploadJobNameProblem } from './upload-path.ts';
import { webEvents } from './web-events.ts';
import { UserStore } from './users.ts';
import { buildData, buildPage, compareData, comparePage } from './view-build.ts';
import { failedPage, INDEX_MAX_AGE_MS, indexData, indexPage, jobData, jobPage } from './view-jobs.ts';
import { liveJobPage, livePage } from './view-live.ts';
import { buildJson, compareJson, indexJson, jobJson } from './view-json.ts';
import { servedAs } from './content-type.ts';
import { vizCacheFor } from './viz-cache.ts';
import { errorPage, ROBOTS_TXT } from './view-errors.ts';
import { binaryName, manualBuild } from './upload-binary.ts';

export interface WebServerOptions {
  host?: string;
  port?: number;
  dataDir: string;
  root: RootDatabase;
  live?: LiveState;
  configDir?: string;
  maxUploadBytes?: number;
  /** uploads in flight at once; one more gets 503 with Retry-After */
  maxConcurrentUploads?: number;
  /** the password checks' limits (see password-checker.ts) */
  auth?: PasswordCheckerOptions;
  clock?: Clock;
  hasher?: Hasher;
  log?: (line: string) => void;
  /** builder-web's --expired-jobs: days after which a job without a successful build leaves `/`; 0: never (default 30) */
  expiredJobsDays?: number;
}

export interface WebServer {
  address: { host: string; port: number; url: string };
  store: BuildStore;
  close(): Promise<void>;
}

const STATIC_DIR = join(fileURLToPath(new URL('.', import.meta.url)), 'static');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  json: boolean;
}

function send(res: ServerResponse, status: number, body: string | Buffer, type: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

/** JSON of the data when asked for (builder-web's shape when `json` is given), else its page; the data is computed once either way. */
function reply<T>(c: Ctx, data: T, html: (data: T) => string, json?: (data: T) => unknown): void {
  if (c.json) send(c.res, 200, JSON.stringify(json ? json(data) : data), 'application/json');
  else send(c.res, 200, html(data), 'text/html; charset=utf-8');
}

function redirect(res: ServerResponse, status: 302 | 307, location: string): void {
  send(res, status, '', 'text/plain', { Location: location });
}

export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const store = buildStoreFor(opts.root, opts.dataDir, opts.hasher);
  const users = new UserStore(opts.root);
  const checker = new PasswordChecker(users, opts.clock ?? systemClock, opts.auth);
  const uploadSlots = new UploadSlots(opts.maxConcurrentUploads ?? DEFAULT_MAX_CONCURRENT_UPLOADS);
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? ((line: string) => process.stderr.write(`web: ${line}\n`));
  const limit = opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  const assets = {
    'style.css': { body: await readFile(join(STATIC_DIR, 'style.css')), type: 'text/css; charset=utf-8' },
    'app.js': { body: await readFile(join(STATIC_DIR, 'app.js')), type: 'text/javascript; charset=utf-8' },
  };

  const viz = vizCacheFor(store);
  const expiredDays = opts.expiredJobsDays ?? INDEX_MAX_AGE_MS / 86_400_000;
  const maxAgeMs = expiredDays > 0 ? expiredDays * 86_400_000 : undefined;

  const buildOf = (job: string, uuid: string): BuildRecord => {
    const b = UUID.test(uuid) ? store.build(uuid) : undefined;
    if (!b || b.job !== job) throw webErrors.notFound(`build ${uuid} of job ${job}`);
    return b;
  };

  const serveBlob = async (c: Ctx, sha: string, type: string, extra: Record<string, string> = {}) => {
    const etag = `"${sha}"`;
    if (c.req.headers['if-none-match'] === etag) {
      c.res.writeHead(304, { ETag: etag });
      c.res.end();
      return;
    }
    const path = store.artifacts.path(sha);
    const stream = createReadStream(path);
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', () => reject(webErrors.notFound('the file (removed by retention)')));
    });
    c.res.writeHead(200, { 'Content-Type': type, ETag: etag, ...extra });
    stream.pipe(c.res);
  };

  const execOf = async (b: BuildRecord): Promise<Exec> => {
    const files = await Promise.all(
      [...b.artifacts, ...b.extraFiles].map(async (f) => ({ path: f.path, data: new Uint8Array(await store.readBlob(f.sha256)) })),
    );
    return {
      job: { type: 'script', name: b.job, script: b.script, platform: b.platform },
      uuid: uuidFromString(b.uuid),
      console: decodeConsole(await store.readBlob(b.console.sha256)),
      started: new Date(b.start),
      finished: new Date(b.finish),
      result: b.result,
      files,
    };
  };

  const buildRoute = async (c: Ctx, b: BuildRecord, rest: string[]) => {
    const [what, ...tail] = rest;
    if (what === undefined) return reply(c, buildData(store, b, opts.live?.lifecycle(b.uuid), viz.applies(b), viz.solo5(b)), buildPage, buildJson);
    switch (what) {
      case 'f': {
        const path = tail.join('/');
        const a = b.artifacts.find((x) => x.path === path);
        if (!a) throw webErrors.notFound(`file ${path}`);
        // text opens in the browser; binaries download
        const as = servedAs(path);
        return serveBlob(c, a.sha256, as.type, as.inline ? {} : { 'Content-Disposition': attachment(path.split('/').pop() || 'file') });
      }
      case 'vizdependencies':
      case 'viztreemap': {
        if (tail.length) break;
        const html = await viz.html(b, what === 'vizdependencies' ? 'dependencies' : 'treemap').catch(() => {
          throw webErrors.notFound('the visualization (its input was removed by retention)');
        });
        if (html === undefined) throw webErrors.notFound(what === 'vizdependencies' ? 'an opam-switch file in this build' : 'a main binary in this build');
        return send(c.res, 200, html, 'text/html; charset=utf-8');
      }
      case 'main-binary':
        if (!b.mainBinary) throw webErrors.notFound('main binary');
        return redirect(c.res, 302, `/job/${encodeURIComponent(b.job)}/build/${b.uuid}/f/${b.mainBinary.path.split('/').map(encodeURIComponent).join('/')}`);
      case 'console':
        return send(c.res, 200, consoleText(decodeConsole(await store.readBlob(b.console.sha256).catch(() => {
          throw webErrors.notFound('the console (removed by retention)');
        }))), 'text/plain; charset=utf-8');
      case 'script':
        return send(c.res, 200, b.script, 'text/plain; charset=utf-8');
      case 'exec': {
        const exec = await execOf(b).catch(() => {
          throw webErrors.notFound('the files of this build (removed by retention)');
        });
        return send(c.res, 200, Buffer.from(encodeExec(exec)), 'application/octet-stream', {
          'Content-Disposition': attachment(`${b.uuid}.exec`),
        });
      }
      case 'all.tar.gz': {
        const prefix = `${safeComponent(b.job)}-${b.uuid}`;
        const files = b.artifacts.map((a) => ({ path: `${prefix}/${a.path}`, size: a.size, read: () => store.readBlob(a.sha256) }));
        c.res.writeHead(200, { 'Content-Type': 'application/gzip', 'Content-Disposition': attachment(`${b.job}-${b.uuid}.tar.gz`) });
        tarGz(files, b.finish).on('error', (e) => c.res.destroy(e)).pipe(c.res);
        return;
      }
    }
    throw webErrors.notFound(c.url.pathname);
  };

  const jobRoute = async (c: Ctx, job: string, rest: string[]) => {
    const platform = c.url.searchParams.get('platform') ?? undefined;
    if (rest.length === 0 || (rest.length === 1 && rest[0] === 'failed')) {
      const d = jobData(store, job, platform, rest[0] === 'failed');
      if (!d) throw webErrors.notFound(`job ${job}`);
      return reply(c, d, jobPage, jobJson);
    }
    if (rest[0] !== 'build' || rest.length < 2) throw webErrors.notFound(c.url.pathname);
    if (rest[1] === 'latest') {
      const b = store.latestSuccessful(job, platform);
      if (!b) throw webErrors.notFound(`a successful build of ${job}`);
      const tail = rest.slice(2).map(encodeURIComponent).join('/');
      return redirect(c.res, 307, `/job/${encodeURIComponent(job)}/build/${b.uuid}${tail ? '/' + tail : ''}`);
    }
    return buildRoute(c, buildOf(job, rest[1]!), rest.slice(2));
  };

  const liveRoute = (c: Ctx, rest: string[]) => {
    if (rest.length === 0) return reply(c, opts.live?.snapshot() ?? null, livePage);
    const uuid = rest[0]!;
    if (!UUID.test(uuid)) throw webErrors.notFound(`job run ${uuid}`);
    if (rest.length === 1) {
      const running = opts.live?.snapshot().running.find((r) => r.uuid === uuid);
      const lifecycle = opts.live?.lifecycle(uuid);
      const stored = store.build(uuid);
      const build = stored && !stored.deleted ? { job: stored.job, uuid, result: stored.result, platform: stored.platform, start: stored.start, finish: stored.finish } : null;
      return reply(c, { uuid, running: running ?? null, lifecycle: lifecycle ?? null, build }, (d) => liveJobPage(d, clock.now()));
    }
    if (rest.length === 2 && rest[1] === 'events') return streamConsole(c, uuid);
    throw webErrors.notFound(c.url.pathname);
  };

  const streams = new Set<ServerResponse>();
  const streamConsole = (c: Ctx, uuid: string) => {
    c.res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    c.res.write(': console\n\n');
    if (!opts.live) {
      c.res.end(`event: end\ndata: ${JSON.stringify({ result: 'no scheduler attached' })}\n\n`);
      return;
    }
    streams.add(c.res);
    const decoder = new TextDecoder('utf-8');
    let ended = false;
    let unsubscribe: (() => void) | undefined;
    const stop = () => {
      streams.delete(c.res);
      unsubscribe?.();
      unsubscribe = undefined;
    };
    unsubscribe = opts.live.subscribeConsole(
      uuid,
      (delta, line) => {
        if (!ended && !c.res.destroyed) c.res.write(`event: line\ndata: ${JSON.stringify({ t: formatDelta(delta), text: decoder.decode(line) })}\n\n`);
      },
      (result) => {
        if (ended) return;
        ended = true;
        if (!c.res.destroyed) c.res.end(`event: end\ndata: ${JSON.stringify({ result })}\n\n`);
        queueMicrotask(stop);
      },
    );
    if (ended) stop();
    c.res.on('close', stop);
  };

  // a disk full under the spool and artifacts, or under the store, answers 507
  const storageDirs = [opts.dataDir, (opts.root as { path?: string }).path];
  const upload = async (c: Ctx) => {
    const user = await authenticate(checker, c.req);
    const address = c.req.socket.remoteAddress ?? '';
    const permit = (job: string) => {
      const why = uploadJobNameProblem(job);
      if (why) throw webErrors.badJobName(job, why);
      if (!users.mayUpload(user, job, store.job(job) !== undefined)) {
        webEvents.uploadRefused({ address, reason: 'forbidden' });
        throw webErrors.forbiddenJob(user.name, job);
      }
    };
    const named = c.url.searchParams.get('job');
    if (named !== null) permit(named);
    const release = uploadSlots.take();
    if (!release) {
      webEvents.uploadRefused({ address, reason: 'busy' });
      throw webErrors.busy(`${uploadSlots.max} uploads in progress`, 5);
    }
    let spool: string | undefined;
    try {
      spool = await spoolUpload(c.req, join(opts.dataDir, '_tmp'), limit, (job) => {
        if (named !== null && job !== named) throw webErrors.badRequest(`the body is for job ${job}, the request names ${named}`);
        permit(job);
      });
      const prepared = await prepareUpload(spool);
      await recordBuild(prepared, { root: opts.root, dataDir: opts.dataDir, ...(opts.configDir ? { configDir: opts.configDir } : {}), log });
    } catch (e) {
      throw uploadFailure(e, storageDirs);
    } finally {
      release();
      if (spool) await Promise.all([rm(spool, { force: true }), rm(`${spool}.console`, { force: true })]);
    }
    c.res.writeHead(201, { 'Content-Length': '0' });
    c.res.end();
  };

  const uploadBinary = async (c: Ctx, job: string, platform: string) => {
    const user = await authenticate(checker, c.req);
    const why = uploadJobNameProblem(job) ?? uploadJobNameProblem(platform);
    if (why) throw webErrors.badJobName(job, why);
    if (!users.mayUpload(user, job, store.job(job) !== undefined)) throw webErrors.forbiddenJob(user.name, job);
    const name = binaryName(job, c.url.searchParams.get('binary_name'));
    const release = uploadSlots.take();
    if (!release) throw webErrors.busy(`${uploadSlots.max} uploads in progress`, 5);
    let spool: string | undefined;
    try {
      spool = await spoolUpload(c.req, join(opts.dataDir, '_tmp'), limit);
      const shell = manualBuild(job, platform, name, new Date(clock.now()));
      await recordBuild(await prepareSingleFile(spool, shell, shell.files[0]!.path), {
        root: opts.root,
        dataDir: opts.dataDir,
        ...(opts.configDir ? { configDir: opts.configDir } : {}),
        log,
      });
    } catch (e) {
      throw uploadFailure(e, storageDirs);
    } finally {
      release();
      if (spool) await rm(spool, { force: true });
    }
    c.res.writeHead(201, { 'Content-Length': '0' });
    c.res.end();
  };

  const route = async (c: Ctx) => {
    const segs = c.url.pathname.split('/').slice(1).map((s) => decodeURIComponent(s));
    if (segs[segs.length - 1] === '' && segs.length > 1) segs.pop();
    const method = c.req.method ?? 'GET';
    if (segs[0] === 'upload' && segs.length === 1) {
      if (method !== 'POST') return send(c.res, 405, 'POST only\n', 'text/plain', { Allow: 'POST' });
      return upload(c);
    }
    if (segs[0] === 'job' && segs[1] && segs[2] === 'platform' && segs[3] && segs[4] === 'upload' && segs.length === 5) {
      if (method !== 'POST') return send(c.res, 405, 'POST only\n', 'text/plain', { Allow: 'POST' });
      return uploadBinary(c, segs[1], segs[3]);
    }
    if (method !== 'GET' && method !== 'HEAD') return send(c.res, 405, 'GET only\n', 'text/plain', { Allow: 'GET, HEAD' });
    const now = clock.now();
    switch (segs[0]) {
      case '':
        if (segs.length > 1) break;
        return reply(c, indexData(store, now, maxAgeMs), (d) => indexPage(d, false, expiredDays), (d) => indexJson(d, (b) => viz.solo5(b)));
      case 'all-builds':
        return reply(c, indexData(store, now), (d) => indexPage(d, true), (d) => indexJson(d, (b) => viz.solo5(b)));
      case 'robots.txt':
        return send(c.res, 200, ROBOTS_TXT, 'text/plain; charset=utf-8');
      case 'failed-builds': {
        const start = Math.max(0, Number.parseInt(c.url.searchParams.get('start') ?? '0', 10) || 0);
        const count = Math.min(500, Math.max(1, Number.parseInt(c.url.searchParams.get('count') ?? '20', 10) || 20));
        const platform = c.url.searchParams.get('platform') || undefined;
        const builds = store.failedBuilds(start, count, platform);
        return reply(c, builds, () => failedPage(builds, start, count, platform));
      }
      case 'job':
        if (segs.length >= 2 && segs[1]) return jobRoute(c, segs[1], segs.slice(2));
        break;
      case 'hash': {
        const sha = (c.url.searchParams.get('sha256') ?? '').trim().toLowerCase();
        if (!HEX64.test(sha)) throw webErrors.badRequest('sha256 must be 64 hex digits');
        const hit = store.buildsWithHash(sha)[0];
        if (!hit) throw webErrors.notFound(`a build with an artifact of hash ${sha}`);
        return redirect(c.res, 302, `/job/${encodeURIComponent(hit.build.job)}/build/${hit.build.uuid}`);
      }
      case 'compare': {
        const [a, b] = [segs[1] ?? '', segs[2] ?? ''].map((u) => (UUID.test(u) ? store.build(u) : undefined));
        if (!a || !b || segs.length !== 3) throw webErrors.notFound('both builds');
        const d = await compareData(store, a, b);
        return reply(c, d, comparePage, compareJson);
      }
      case 'live':
        return liveRoute(c, segs.slice(1));
      case 'static': {
        const asset = assets[segs[1] as keyof typeof assets];
        if (asset && segs.length === 2) return send(c.res, 200, asset.body, asset.type, { 'Cache-Control': 'max-age=300' });
        break;
      }
    }
    throw webErrors.notFound(c.url.pathname);
  };

  const server = createServer((req, res) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return send(res, 400, 'bad request target\n', 'text/plain');
    }
    const c: Ctx = { req, res, url, json: /application\/json/.test(req.headers.accept ?? '') };
    route(c).catch((e: unknown) => {
      const err = e instanceof URIError ? webErrors.badRequest('bad percent-encoding') : e;
      if (res.headersSent) return void res.destroy();
      // a writeHead that threw leaves its status text and some headers behind (a "500 OK" with an ETag)
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      res.statusMessage = '';
      res.setHeader('X-Content-Type-Options', 'nosniff');
      if (err instanceof WebError) {
        const headers: Record<string, string> = { ...err.headers };
        if (err.code === 'ERR_WEB_UNAUTHORIZED') headers['WWW-Authenticate'] = 'Basic realm="builder-web"';
        if (err.status === 413 || (req.method === 'POST' && !req.complete)) headers['Connection'] = 'close';
        if (c.json) send(res, err.status, JSON.stringify({ error: err.code, message: err.message }), 'application/json', headers);
        else if (err.status === 404 && (req.method === 'GET' || req.method === 'HEAD')) send(res, 404, errorPage(404, url.pathname, err.message), 'text/html; charset=utf-8', headers);
        else send(res, err.status, err.message + '\n', 'text/plain; charset=utf-8', headers);
        return;
      }
      log(`${req.method} ${url.pathname}: ${e instanceof Error ? e.stack : String(e)}`);
      send(res, 500, 'internal error\n', 'text/plain');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 3000, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    address: { host: addr.address, port: addr.port, url: `http://${host}:${addr.port}` },
    store,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of streams) s.end();
        // background visualizations finish first: they write into the data directory
        server.close(() => void Promise.all([checker.close(), viz.idle()]).then(() => resolve(), () => resolve()));
        server.closeAllConnections();
      }),
  };
}
