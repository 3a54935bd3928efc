import { describeHspStatus, ErrorCode, errorCodeOfHspStatus, SpoolError } from '@spool/common';
import type { HspAnswer } from './connection.js';

const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));

/**
 * An HSP answer with a status that is not success: `code` is the server's stable code
 * (`x-error`; from the status when absent), `status` the HSP status, the message the
 * server's reason (the answer's text payload).
 */
export class HspStatusError extends SpoolError {
  readonly status: number;
  constructor(status: number, code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, { ...details, status });
    this.status = status;
  }
}

/** The error an answer stands for. */
export function errorOfAnswer(answer: HspAnswer, details?: Record<string, unknown>): HspStatusError {
  const named = answer.headers.get('x-error');
  const known = named !== undefined && KNOWN_CODES.has(named);
  const code = known ? (named as ErrorCode) : errorCodeOfHspStatus(answer.status);
  const reason = answer.payload.length > 0 ? answer.payload.toString('utf8') : `HSP status ${describeHspStatus(answer.status)}`;
  // A code this SDK does not know (the server's SERVER_BUSY) is kept as `serverCode`.
  return new HspStatusError(answer.status, code, reason, named !== undefined && !known ? { ...details, serverCode: named } : details);
}
