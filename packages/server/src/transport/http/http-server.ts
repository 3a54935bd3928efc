import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorCode } from '@spool/common';
import type { Express } from 'express';
import type { SpoolConfig } from '../../config/schema.js';
import { closingErrorAnswer, HttpErrorCode, rawErrorResponse } from './errors.js';
import { LINGER_MS } from './linger.js';
import { deferContinue } from './request-body.js';

/** Node's default wait for a request's headers. */
const HEADERS_TIMEOUT_MS = 60_000;
/** Node's own whole-request timer backs up our body deadline by this much (our 408 comes first). */
const DEADLINE_BACKSTOP_GRACE_MS = 10_000;

/** A request refused before routing: the status and JSON error it gets. */
interface Refusal {
  status: number;
  code: string;
  message: string;
}

/**
 * The HTTP server for the express app:
 * - `maxHeaderSize` = httpMaxHeaderBytes (a larger head → 431);
 * - Node's `requestTimeout` (5 min by default) would cut uploads of growing logs that
 *   last hours: our body watchdog enforces httpIdleTimeoutMs / httpRequestDeadlineMs with
 *   a JSON 408 and kept bytes, so Node's timer is only a backstop past the deadline, or
 *   off when there is none;
 * - `Expect: 100-continue` is answered by the route that accepts the body, not up front,
 *   so a refused upload (404, 409, 413) is refused before the client sends it;
 * - whatever Node would answer itself (or drop) gets the server's JSON error body: parser
 *   errors (431, 408, 400), a missing Host (400), another expectation (417), CONNECT
 *   (501); so does a Transfer-Encoding the parser would fail on mid-body (400/501).
 */
export function createHttpServer(app: Express, config: SpoolConfig): Server {
  const requestTimeout = config.httpRequestDeadlineMs > 0 ? config.httpRequestDeadlineMs + DEADLINE_BACKSTOP_GRACE_MS : 0;
  const server = createServer(
    {
      maxHeaderSize: config.httpMaxHeaderBytes,
      requestTimeout,
      headersTimeout: requestTimeout > 0 ? Math.min(HEADERS_TIMEOUT_MS, requestTimeout) : HEADERS_TIMEOUT_MS,
      // Node's own check answers 400 with an empty body: ours (refusalOf) answers in JSON.
      requireHostHeader: false,
    },
    (req: IncomingMessage, res: ServerResponse) => {
      serving(req, res);
      if (!refused(req, res)) app(req, res);
    },
  );
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    serving(req, res);
    if (refused(req, res)) return;
    deferContinue(req);
    app(req, res);
  });
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    if (refused(req, res)) return;
    const expectation = JSON.stringify(req.headers.expect);
    answer(res, {
      status: 417,
      code: HttpErrorCode.EXPECTATION_FAILED,
      message: `Expect: ${expectation} is not supported (only 100-continue)`,
    });
  });
  server.on('connect', refuseConnect);
  server.on('clientError', answerClientError);
  return server;
}

/**
 * What the parser let through but the request cannot be served with. A Transfer-Encoding
 * not ending in chunked leaves the body's length unknown (RFC 9112 §6.3: 400 and close);
 * the parser accepts the head and fails only on the body, by then racing the route's
 * answer. Other transfer codings would need decoding we do not do (RFC 9112 §6.1: 501).
 */
function refusalOf(req: IncomingMessage): Refusal | undefined {
  if (req.httpVersion === '1.1' && req.headers.host === undefined) {
    return { status: 400, code: ErrorCode.INVALID_MESSAGE, message: 'An HTTP/1.1 request needs a Host header' };
  }
  const transferEncoding = req.headers['transfer-encoding'];
  if (transferEncoding === undefined) return undefined;
  const codings = transferEncoding.split(',').map((coding) => coding.trim().toLowerCase());
  if (codings.at(-1) !== 'chunked') {
    return {
      status: 400,
      code: ErrorCode.INVALID_MESSAGE,
      message: `Transfer-Encoding ${JSON.stringify(transferEncoding)} does not end in chunked: the body's length is unknown`,
    };
  }
  if (codings.length > 1) {
    return {
      status: 501,
      code: HttpErrorCode.NOT_IMPLEMENTED,
      message: `Transfer-Encoding ${JSON.stringify(transferEncoding)} is not supported: send the body chunked only`,
    };
  }
  return undefined;
}

/** Answers a request refusalOf refuses; true if it did. */
function refused(req: IncomingMessage, res: ServerResponse): boolean {
  const refusal = refusalOf(req);
  if (refusal) answer(res, refusal);
  return refusal !== undefined;
}

/** The JSON error, then the connection closes (a body the client may still send is not read). */
function answer(res: ServerResponse, refusal: Refusal): void {
  const { headers, body } = closingErrorAnswer(refusal.code, refusal.message);
  res.writeHead(refusal.status, headers).end(body);
}

/** Ends the socket once what is written is flushed; cut if the peer does not close its side in time. */
function endSocket(socket: Duplex, data?: string): void {
  socket.end(data);
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

/** Node drops a CONNECT nobody handles without a word: this server is no proxy, and says so. */
function refuseConnect(req: IncomingMessage, socket: Duplex): void {
  // Node detached its listeners for the tunnel; an unhandled 'error' would crash.
  socket.on('error', () => socket.destroy());
  // Tunnel bytes are discarded rather than left unread, which would reset the connection.
  socket.resume();
  endSocket(socket, rawErrorResponse(501, HttpErrorCode.NOT_IMPLEMENTED, `${req.method} is not supported: this server is not a proxy`));
}

/** The response each socket is serving until it is finished (what Node's own clientError default checks). */
const inFlight = new WeakMap<Duplex, ServerResponse>();

function serving(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket;
  inFlight.set(socket, res);
  const done = () => {
    if (inFlight.get(socket) === res) inFlight.delete(socket);
  };
  res.once('finish', done);
  res.once('close', done);
}

/** The response a socket is serving, if any. */
function inFlightResponse(socket: Duplex): ServerResponse | undefined {
  return inFlight.get(socket);
}

/**
 * Errors of Node's HTTP parser never reach express: answers them in the same JSON shape.
 * Registered first; a later listener may still destroy the socket, as Node's default does.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || !socket.writable) {
    socket.destroy();
    return;
  }
  if (inFlightResponse(socket)?.headersSent) {
    // The answer has begun and cannot change. What it wrote may still sit corked in the
    // socket (a route that answered in the tick the parser failed): send it, then close.
    // A cut-short answer still shows as one (Content-Length or chunked framing).
    endSocket(socket);
    return;
  }
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      endSocket(
        socket,
        rawErrorResponse(431, HttpErrorCode.HEADERS_TOO_LARGE, 'Request line and headers larger than the limit (httpMaxHeaderBytes)'),
      );
      return;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      endSocket(socket, rawErrorResponse(408, ErrorCode.TIMEOUT, 'Request not received in time'));
      return;
    default:
      endSocket(socket, rawErrorResponse(400, ErrorCode.INVALID_MESSAGE, `Malformed HTTP request (${err.code ?? err.message})`));
  }
}
