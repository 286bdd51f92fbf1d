import { BuilderError } from './builder-error.ts';

/** Stable codes of WorkerError. */
export const WorkerErrorCode = {
  /** The server did not answer the hello with ServerHello. */
  HANDSHAKE: 'ERR_WORKER_HANDSHAKE',
  /** The server sent a command that has no place in the worker conversation. */
  UNEXPECTED_COMMAND: 'ERR_WORKER_UNEXPECTED_COMMAND',
  /** The server closed the connection before sending a job. */
  NO_JOB: 'ERR_WORKER_NO_JOB',
  /** The server ended the job in progress and said why (its timeout): Failure(reason) during the job. */
  SERVER_ENDED_JOB: 'ERR_WORKER_SERVER_ENDED_JOB',
  /** A bad command line or option value. */
  USAGE: 'ERR_WORKER_USAGE',
} as const;

export type WorkerErrorCodeValue = (typeof WorkerErrorCode)[keyof typeof WorkerErrorCode];

export class WorkerError extends BuilderError {
  declare readonly code: WorkerErrorCodeValue;
  constructor(code: WorkerErrorCodeValue, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
