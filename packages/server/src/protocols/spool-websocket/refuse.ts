import type { Logger } from 'winston';
import type { WsConnection } from '../../transport/websocket/index.js';
import { spoolCloseFrameFor, spoolErrorMessageFor } from './close-mapping.js';

/**
 * How long the `error` message may wait behind a reply still being sent before the close
 * goes anyway (a stalled peer would otherwise keep the connection open forever).
 */
const ERROR_MESSAGE_WAIT_MS = 1_000;

/**
 * Ends a connection on an error: the `error` message (code, message, details), then the
 * close mapped from the same error (reason `CODE: message`). Inbound data is no longer
 * read meanwhile. Idempotent: a connection already closing is left alone.
 */
export function refuseConnection(conn: WsConnection, error: unknown, logger: Logger): void {
  if (conn.closed) return;
  const frame = spoolCloseFrameFor(error);
  logger.warn('spool connection refused', { connectionId: conn.id, code: frame.code, reason: frame.reason });
  conn.pause();
  const sent = conn.sendText(JSON.stringify(spoolErrorMessageFor(error))).catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ERROR_MESSAGE_WAIT_MS);
    timer.unref();
  });
  void Promise.race([sent, waited]).then(() => {
    clearTimeout(timer);
    conn.close(frame.code, frame.reason);
  });
}
