import { type SpoolErrorMessage, toSpoolError } from '@spool/common';
import { type CloseFrame, closeCodeFor } from '../shared/websocket-close.js';

/**
 * The Spool protocol's one mapping from core errors to the wire: the close code comes
 * from the shared WebSocket table (closeCodeFor), the reason starts with the stable error
 * code (`OFFSET_MISMATCH: Resource … is at offset 5, write was at 9`) so clients map it
 * exactly even without the preceding `error` message.
 */
export function spoolCloseFrameFor(error: unknown): CloseFrame {
  const err = toSpoolError(error);
  return { code: closeCodeFor(err.code), reason: `${err.code}: ${err.message}` };
}

/** The `error` message sent before that close (or, with `requestId`, instead of it). */
export function spoolErrorMessageFor(error: unknown, requestId?: number): SpoolErrorMessage {
  const err = toSpoolError(error);
  return {
    type: 'error',
    code: err.code,
    message: err.message,
    ...(err.details ? { details: err.details } : {}),
    ...(requestId === undefined ? {} : { requestId }),
  };
}
