import { BuilderError } from './builder-error.ts';

/** Stable codes of ClientError (the `builder <client command>` side). */
export const ClientErrorCode = {
  /** A bad command line: the command prints its usage and exits with 2. */
  USAGE: 'ERR_CLIENT_USAGE',
  /** No TCP connection to the server could be made. */
  UNREACHABLE: 'ERR_CLIENT_UNREACHABLE',
  /** The server answered Failure(message). */
  FAILURE: 'ERR_CLIENT_SERVER_FAILURE',
  /** The connection ended or broke before the conversation was complete. */
  CONNECTION_LOST: 'ERR_CLIENT_CONNECTION_LOST',
  /** The server sent something that has no place in the conversation. */
  UNEXPECTED_REPLY: 'ERR_CLIENT_UNEXPECTED_REPLY',
  /** observe-latest found nothing to observe. */
  NO_RUNNING_JOB: 'ERR_CLIENT_NO_RUNNING_JOB',
  /** A local file (the script) could not be read. */
  FILE: 'ERR_CLIENT_FILE',
  /** The server does not know the protocol extension a feature needs (an original builder-server). */
  UNSUPPORTED: 'ERR_CLIENT_UNSUPPORTED',
  /** The address answers, but not with the builder protocol (a web server, SSH, ...). */
  NOT_BUILDER: 'ERR_CLIENT_NOT_BUILDER',
} as const;

export type ClientErrorCodeValue = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

export class ClientError extends BuilderError {
  declare readonly code: ClientErrorCodeValue;
  constructor(code: ClientErrorCodeValue, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }

  /** Usage errors exit with 2, everything else with 1. */
  get exitCode(): number {
    return this.code === ClientErrorCode.USAGE ? 2 : 1;
  }
}
