import { BuilderError } from './builder-error.ts';

/** An error of the web frontend that maps onto an HTTP answer; `status` is what the client gets. */
export class WebError extends BuilderError {
  readonly status: number;
  /** extra response headers (Retry-After) */
  readonly headers: Record<string, string>;
  constructor(code: string, status: number, message: string, options?: { cause?: unknown; headers?: Record<string, string> }) {
    super(code, message, options);
    this.status = status;
    this.headers = options?.headers ?? {};
  }
}

const oneLine = (e: unknown) => String((e as Error)?.message ?? e).replace(/\s+/g, ' ').trim();

export const webErrors = {
  unauthorized: (why: string) => new WebError('ERR_WEB_UNAUTHORIZED', 401, why),
  forbiddenJob: (user: string, job: string) =>
    new WebError('ERR_WEB_NO_ACCESS', 403, `user ${user} may not upload to job ${job}`),
  duplicateBuild: (uuid: string) => new WebError('ERR_WEB_DUPLICATE_BUILD', 409, `a build with uuid ${uuid} exists`),
  badUpload: (why: string, cause?: unknown) =>
    new WebError('ERR_WEB_BAD_UPLOAD', 400, `the body is not a valid Exec: ${why}`, { cause }),
  tooLarge: (limit: number) => new WebError('ERR_WEB_TOO_LARGE', 413, `the body exceeds ${limit} bytes`),
  badRequest: (why: string) => new WebError('ERR_WEB_BAD_REQUEST', 400, why),
  notFound: (what: string) => new WebError('ERR_WEB_NOT_FOUND', 404, `${what} not found`),
  badUser: (why: string) => new WebError('ERR_WEB_BAD_USER', 400, why),
  rateLimited: (why: string, retryAfterS: number) =>
    new WebError('ERR_WEB_RATE_LIMITED', 429, `${why}; retry in ${retryAfterS} s`, { headers: { 'Retry-After': String(retryAfterS) } }),
  busy: (why: string, retryAfterS: number) =>
    new WebError('ERR_WEB_BUSY', 503, `${why}; retry in ${retryAfterS} s`, { headers: { 'Retry-After': String(retryAfterS) } }),
  /** 507 Insufficient Storage: nothing of the upload was kept */
  diskFull: (cause: unknown) =>
    new WebError(
      'ERR_WEB_DISK_FULL',
      507,
      `disk full: the upload was not stored (${oneLine(cause)}); free space under the data directory and retry`,
      { cause },
    ),
  badArtifactPath: (path: string, why: string) =>
    new WebError('ERR_WEB_BAD_PATH', 400, `the body is not a valid Exec: artifact path ${JSON.stringify(path)} refused: ${why}`),
  badJobName: (name: string, why: string) =>
    new WebError('ERR_WEB_BAD_JOB', 400, `the body is not a valid Exec: job name ${JSON.stringify(name)} refused: ${why}`),
};
