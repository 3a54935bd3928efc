import { ErrorCode, type HspStatus, hspStatusOf, toSpoolError } from '@spool/common';

export interface HspError {
  status: HspStatus;
  /** The stable SpoolError code, sent as `x-error`. */
  code: ErrorCode;
  message: string;
}

/**
 * An error as an HSP answer states it (the status from the one mapping in @spool/common).
 * The message of an unexpected error is not echoed to the client (the server logs it).
 */
export function hspErrorOf(err: unknown): HspError {
  const error = toSpoolError(err);
  const message = error.code === ErrorCode.INTERNAL ? 'Internal server error (see the server log)' : error.message;
  return { status: hspStatusOf(error.code), code: error.code, message };
}
