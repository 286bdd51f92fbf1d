import { BuilderError } from './builder-error.ts';

/** An error of the web frontend that maps onto an HTTP answer; `status` is what the client gets. */
export class WebError extends BuilderError {
  readonly status: number;
  constructor(code: string, status: number, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.status = status;
  }
}

export const webErrors = {
  unauthorized: (why: string) => new WebError('ERR_WEB_UNAUTHORIZED', 401, why),
  forbiddenJob: (user: string, job: string) =>
    new WebError('ERR_WEB_NO_ACCESS', 401, `user ${user} may not upload to job ${job}`),
  duplicateBuild: (uuid: string) => new WebError('ERR_WEB_DUPLICATE_BUILD', 409, `a build with uuid ${uuid} exists`),
  badUpload: (why: string, cause?: unknown) =>
    new WebError('ERR_WEB_BAD_UPLOAD', 400, `the body is not a valid Exec: ${why}`, { cause }),
  tooLarge: (limit: number) => new WebError('ERR_WEB_TOO_LARGE', 413, `the body exceeds ${limit} bytes`),
  badRequest: (why: string) => new WebError('ERR_WEB_BAD_REQUEST', 400, why),
  notFound: (what: string) => new WebError('ERR_WEB_NOT_FOUND', 404, `${what} not found`),
  badUser: (why: string) => new WebError('ERR_WEB_BAD_USER', 400, why),
};
