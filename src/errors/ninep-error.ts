import { BuilderError } from './builder-error.ts';

/** Linux errno values carried by 9P2000.u Rerror and 9P2000.L Rlerror. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  EACCES: 13,
  EEXIST: 17,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  EMFILE: 24,
  ENOSPC: 28,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  EPROTO: 71,
  EBADMSG: 74,
  EMSGSIZE: 90,
  EOPNOTSUPP: 95,
} as const;

/**
 * An error a 9P request ends with: its message becomes Rerror's ename, its errno goes into
 * Rerror (9P2000.u) or Rlerror (9P2000.L). Codes are stable (ERR_NINEP_*).
 */
export class NinepError extends BuilderError {
  readonly errno: number;
  constructor(code: string, message: string, errno: number = Errno.EIO, options?: { cause?: unknown }) {
    super(code, message, options);
    this.errno = errno;
  }
}

/** A frame that does not decode: truncated, trailing bytes, unknown type, bad string. */
export class NinepDecodeError extends NinepError {
  constructor(message: string) {
    super('ERR_NINEP_DECODE', message, Errno.EBADMSG);
  }
}

/** An Rerror / Rlerror received by our client. */
export class NinepRemoteError extends NinepError {
  constructor(message: string, errno: number) {
    super('ERR_NINEP_REMOTE', message, errno);
  }
}

export const notFound = (what: string) => new NinepError('ERR_NINEP_NOT_FOUND', `${what}: file does not exist`, Errno.ENOENT);
export const permissionDenied = (message: string) => new NinepError('ERR_NINEP_PERMISSION', message, Errno.EACCES);
export const invalid = (message: string) => new NinepError('ERR_NINEP_INVALID', message, Errno.EINVAL);
export const unsupported = (message: string) => new NinepError('ERR_NINEP_UNSUPPORTED', message, Errno.EOPNOTSUPP);
export const badFid = (fid: number) => new NinepError('ERR_NINEP_BAD_FID', `unknown fid ${fid}`, Errno.EBADF);
