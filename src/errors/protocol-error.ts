import { BuilderError } from './builder-error.ts';

/** Stable codes of ProtocolError: callers and tests match on these, never on messages. */
export const ProtocolErrorCode = {
  EMPTY: 'ERR_PROTOCOL_EMPTY',
  TRUNCATED: 'ERR_PROTOCOL_TRUNCATED',
  TRAILING_BYTES: 'ERR_PROTOCOL_TRAILING_BYTES',
  INDEFINITE_LENGTH: 'ERR_PROTOCOL_INDEFINITE_LENGTH',
  NON_MINIMAL_LENGTH: 'ERR_PROTOCOL_NON_MINIMAL_LENGTH',
  NON_MINIMAL_TAG: 'ERR_PROTOCOL_NON_MINIMAL_TAG',
  UNEXPECTED_TAG: 'ERR_PROTOCOL_UNEXPECTED_TAG',
  MISSING_FIELD: 'ERR_PROTOCOL_MISSING_FIELD',
  TOO_DEEP: 'ERR_PROTOCOL_TOO_DEEP',
  TOO_MANY_ELEMENTS: 'ERR_PROTOCOL_TOO_MANY_ELEMENTS',
  BAD_INTEGER: 'ERR_PROTOCOL_BAD_INTEGER',
  INTEGER_RANGE: 'ERR_PROTOCOL_INTEGER_RANGE',
  BAD_NULL: 'ERR_PROTOCOL_BAD_NULL',
  INVALID_UTF8: 'ERR_PROTOCOL_INVALID_UTF8',
  BAD_UUID: 'ERR_PROTOCOL_BAD_UUID',
  BAD_TIME: 'ERR_PROTOCOL_BAD_TIME',
  OBSOLETE: 'ERR_PROTOCOL_OBSOLETE',
  UNKNOWN_ALTERNATIVE: 'ERR_PROTOCOL_UNKNOWN_ALTERNATIVE',
  INVALID_VALUE: 'ERR_PROTOCOL_INVALID_VALUE',
  FRAME_TOO_LARGE: 'ERR_FRAME_TOO_LARGE',
  FRAME_TRUNCATED: 'ERR_FRAME_TRUNCATED',
  CONNECTION_LOST: 'ERR_CONNECTION_LOST',
  SOCKET_CLOSED: 'ERR_SOCKET_CLOSED',
} as const;

export type ProtocolErrorCodeValue = (typeof ProtocolErrorCode)[keyof typeof ProtocolErrorCode];

/** A value or a frame that breaks the wire protocol; `field` names where (e.g. "JobFinished.files[1].data"). */
export class ProtocolError extends BuilderError {
  declare readonly code: ProtocolErrorCodeValue;
  readonly field: string | undefined;
  constructor(code: ProtocolErrorCodeValue, message: string, options?: { field?: string; cause?: unknown }) {
    super(code, message, options);
    this.field = options?.field;
  }
}
