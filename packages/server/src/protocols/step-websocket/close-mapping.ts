import { ErrorCode, type SpoolError, toSpoolError } from '@spool/common';
import { type CloseFrame, closeCodeFor } from '../shared/websocket-close.js';

/**
 * The one mapping from core errors to Step-protocol closes: the shared close code, and
 * reasons a Java client parses keep their spelling (QuotaExceededException, Missing
 * parameter ...).
 */
export function closeFrameFor(error: unknown): CloseFrame {
  const err: SpoolError = toSpoolError(error);
  const code = closeCodeFor(err.code);
  switch (err.code) {
    case ErrorCode.QUOTA_EXCEEDED:
      return { code, reason: `QuotaExceededException: ${err.message}` };
    case ErrorCode.SHUTTING_DOWN:
      return { code, reason: 'Server shutdown' };
    default:
      return { code, reason: err.message };
  }
}
