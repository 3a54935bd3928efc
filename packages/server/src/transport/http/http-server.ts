import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorCode } from '@spool/common';
import type { Express } from 'express';
import type { SpoolConfig } from '../../config/schema.js';
import { HttpErrorCode, rawErrorResponse } from './errors.js';
import { deferContinue } from './request-body.js';

/** Node's default wait for a request's headers. */
const HEADERS_TIMEOUT_MS = 60_000;
/** Node's own whole-request timer backs up our body deadline by this much (our 408 comes first). */
const DEADLINE_BACKSTOP_GRACE_MS = 10_000;

/**
 * The HTTP server for the express app:
 * - `maxHeaderSize` = httpMaxHeaderBytes (a larger head → 431);
 * - Node's `requestTimeout` (5 min by default) would cut uploads of growing logs that
 *   last hours: our body watchdog enforces httpIdleTimeoutMs / httpRequestDeadlineMs with
 *   a JSON 408 and kept bytes, so Node's timer is only a backstop past the deadline, or
 *   off when there is none;
 * - `Expect: 100-continue` is answered by the route that accepts the body, not up front,
 *   so a refused upload (404, 409, 413) is refused before the client sends it;
 * - parser-level errors get the face's JSON error body: 431, 408, 400.
 */
export function createHttpServer(app: Express, config: SpoolConfig): Server {
  const requestTimeout = config.httpRequestDeadlineMs > 0 ? config.httpRequestDeadlineMs + DEADLINE_BACKSTOP_GRACE_MS : 0;
  const server = createServer(
    {
      maxHeaderSize: config.httpMaxHeaderBytes,
      requestTimeout,
      headersTimeout: requestTimeout > 0 ? Math.min(HEADERS_TIMEOUT_MS, requestTimeout) : HEADERS_TIMEOUT_MS,
    },
    app,
  );
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    deferContinue(req);
    app(req, res);
  });
  server.on('clientError', answerClientError);
  return server;
}

/** The response a socket is serving, if any (Node's own clientError default checks the same). */
function inFlightResponse(socket: Duplex): ServerResponse | undefined {
  return (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage ?? undefined;
}

/**
 * Errors of Node's HTTP parser never reach express: answers them in the same JSON shape.
 * Registered first; a later listener may still destroy the socket, as Node's default does.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || !socket.writable || inFlightResponse(socket)?.headersSent) {
    socket.destroy();
    return;
  }
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      socket.end(
        rawErrorResponse(431, HttpErrorCode.HEADERS_TOO_LARGE, 'Request line and headers larger than the limit (httpMaxHeaderBytes)'),
      );
      return;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      socket.end(rawErrorResponse(408, ErrorCode.TIMEOUT, 'Request not received in time'));
      return;
    default:
      socket.end(rawErrorResponse(400, ErrorCode.INVALID_MESSAGE, `Malformed HTTP request (${err.code ?? err.message})`));
  }
}
