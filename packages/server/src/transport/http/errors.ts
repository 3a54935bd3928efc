import { STATUS_CODES } from 'node:http';
import { ErrorCode, SpoolError } from '@spool/common';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'winston';
import { lingerThenEnd } from './linger.js';
import { bodyStillArriving } from './request-body.js';

/**
 * The server's default HTTP error mapping: every failure — core error codes, HTTP-only
 * errors (routing, media types, framing), express's own (bad parameters), Node's HTTP
 * parser — becomes an HTTP status plus the JSON body
 * `{"error":{"code","message"[,"details"]}}`. The HTTP API speaks it; so do answers
 * outside any protocol's paths (unknown paths, refused WebSocket upgrades, parser
 * errors). A protocol with another error shape maps its own (`HttpMount.errorResponse`)
 * and may reuse `statusForCode`.
 */

/** Codes only HTTP produces; every other code is the core's `ErrorCode`. */
export const HttpErrorCode = {
  NOT_FOUND: 'NOT_FOUND',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  HEADERS_TOO_LARGE: 'HEADERS_TOO_LARGE',
  EXPECTATION_FAILED: 'EXPECTATION_FAILED',
  /** A precondition of the request does not hold (tus: a protocol version this server does not speak). */
  PRECONDITION_FAILED: 'PRECONDITION_FAILED',
  NOT_IMPLEMENTED: 'NOT_IMPLEMENTED',
} as const;
export type HttpErrorCode = (typeof HttpErrorCode)[keyof typeof HttpErrorCode];

/** A failure that exists only on HTTP (routing, media types, framing). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: HttpErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Status per core error code. `Record` makes the compiler refuse a code left unmapped. */
const STATUS_BY_CODE: Record<ErrorCode, number> = {
  RESOURCE_NOT_FOUND: 404,
  INVALID_RANGE: 416,
  LINE_ACCESS_UNSUPPORTED: 400,
  LINES_OUT_OF_RANGE: 416,
  INVALID_METADATA: 400,
  INVALID_MESSAGE: 400,
  PROTOCOL_VIOLATION: 400,
  MESSAGE_TOO_LARGE: 413,
  CHECKSUM_MISMATCH: 422,
  QUOTA_EXCEEDED: 429,
  CONTEXT_REQUIRED: 400,
  RESOURCE_TERMINAL: 409,
  WRITER_CONFLICT: 409,
  OFFSET_MISMATCH: 409,
  NAME_TAKEN: 409,
  UPLOAD_ABORTED: 400,
  UPLOAD_FAILED: 409,
  STORAGE_FAILURE: 500,
  SHUTTING_DOWN: 503,
  CONNECTION_CLOSED: 400,
  TIMEOUT: 408,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  INTERNAL: 500,
};

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

/**
 * An HTTP error answer: status, extra headers, body — an object is sent as JSON, a string
 * as plain text (each protocol has its own body shape).
 */
export interface HttpErrorResponse<B extends object | string = object | string> {
  status: number;
  headers: Record<string, string>;
  body: B;
  /** A 5xx that is the protocol's answer about its clients (a rendezvous's 502/504), not a failure of the server: not logged as an error. */
  expected?: boolean;
}

/** The status of a core error code in the default mapping. */
export function statusForCode(code: ErrorCode): number {
  return STATUS_BY_CODE[code];
}

/** Errors of express's stack (router, body parsers) carry an HTTP status and sometimes a type. */
interface ExpressStackError {
  status?: unknown;
  statusCode?: unknown;
  type?: unknown;
  message?: unknown;
}

function expressStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { status, statusCode } = err as ExpressStackError;
  const value = typeof status === 'number' ? status : statusCode;
  return typeof value === 'number' && value >= 400 && value < 600 ? value : undefined;
}

/** Extra headers a client needs to act on an error (where to resume, what exists, what is allowed). */
function headersForSpoolError(err: SpoolError): Record<string, string> {
  const details = err.details ?? {};
  if ((err.code === ErrorCode.INVALID_RANGE || err.code === ErrorCode.LINES_OUT_OF_RANGE) && typeof details.size === 'number') {
    return { 'Content-Range': `bytes */${details.size}` };
  }
  if (err.code === ErrorCode.OFFSET_MISMATCH && typeof details.expected === 'number') {
    return { 'Upload-Offset': String(details.expected) };
  }
  const resource = details.resource as { size?: unknown } | undefined;
  if (typeof resource?.size === 'number') return { 'Upload-Offset': String(resource.size) };
  // RFC 9110 §15.5.2: a 401 names the scheme it wants.
  if (err.code === ErrorCode.UNAUTHORIZED) return { 'WWW-Authenticate': 'Bearer' };
  if (err.code === ErrorCode.QUOTA_EXCEEDED || err.code === ErrorCode.SHUTTING_DOWN) return { 'Retry-After': '5' };
  return {};
}

/** Maps anything thrown to its HTTP answer. Messages of unexpected errors are not echoed (logged instead). */
export function httpErrorFor(err: unknown): HttpErrorResponse<ErrorBody> {
  if (err instanceof HttpError) {
    return { status: err.status, headers: err.headers, body: { error: { code: err.code, message: err.message } } };
  }
  if (err instanceof SpoolError) {
    const status = err.code === ErrorCode.INTERNAL ? 500 : STATUS_BY_CODE[err.code];
    const message = err.code === ErrorCode.INTERNAL ? 'Internal server error (see the server log)' : err.message;
    return { status, headers: headersForSpoolError(err), body: { error: { ...err.toJSON(), message } } };
  }
  const status = expressStatus(err);
  if (status !== undefined && status < 500) {
    // Router errors (a parameter that is not valid percent-encoding, ...): the request was bad.
    const message =
      typeof (err as ExpressStackError).message === 'string' ? String((err as ExpressStackError).message) : STATUS_CODES[status];
    const code =
      status === 413 ? ErrorCode.MESSAGE_TOO_LARGE : status === 415 ? HttpErrorCode.UNSUPPORTED_MEDIA_TYPE : ErrorCode.INVALID_MESSAGE;
    return { status, headers: {}, body: { error: { code, message: message ?? 'Bad request' } } };
  }
  return { status: 500, headers: {}, body: { error: { code: ErrorCode.INTERNAL, message: 'Internal server error (see the server log)' } } };
}

/**
 * Answers `err` on `res`. If the response has started it cannot change status any more:
 * the connection is cut, so the client sees an aborted transfer rather than a silent
 * end. If the client is still sending a body nobody will read, the answer carries
 * `Connection: close` and the rest of the body is discarded for a moment before the
 * close (see linger.ts), so the client reads the answer instead of a reset.
 */
export function sendError(
  req: Request,
  res: Response,
  err: unknown,
  logger: Logger,
  mapping: (err: unknown) => HttpErrorResponse = httpErrorFor,
): void {
  const answer = mapping(err);
  const path = req.originalUrl.split('?')[0];
  // 507 is a user's storage quota (blob-sync), not a failure of the server; nor is an `expected` 5xx.
  if (answer.status >= 500 && answer.status !== 507 && !answer.expected)
    logger.error('http request failed', { method: req.method, path, error: errorText(err) });
  else logger.debug('http request refused', { method: req.method, path, status: answer.status, code: errorCodeOf(err) });
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const text = typeof answer.body === 'string';
  const payload = Buffer.from(text ? (answer.body as string) : JSON.stringify(answer.body));
  res.status(answer.status);
  for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
  res.setHeader('Content-Type', text ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8');
  res.setHeader('Content-Length', payload.length);
  res.setHeader('Cache-Control', 'no-store');
  if (bodyStillArriving(req)) {
    res.setHeader('Connection', 'close');
    lingerThenEnd(req, res, payload);
    return;
  }
  res.end(payload);
}

function errorCodeOf(err: unknown): string | undefined {
  if (err instanceof HttpError || err instanceof SpoolError) return err.code;
  return undefined;
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.cause instanceof Error ? `${err.message} (${err.cause.message})` : err.message;
  return String(err);
}

/** An express error handler answering with `mapping` (by default the server's JSON shape). */
export function errorHandler(logger: Logger, mapping: (err: unknown) => HttpErrorResponse = httpErrorFor) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => sendError(req, res, err, logger, mapping);
}

/** The answer for paths no route serves. */
export function notFound(req: Request, _res: Response, next: NextFunction): void {
  next(new HttpError(404, HttpErrorCode.NOT_FOUND, `No route for ${req.method} ${req.path}`));
}

/** For known paths: 405 with `Allow` (and the answer to OPTIONS, with `optionsHeaders`). */
export function methodNotAllowed(allowed: readonly string[], optionsHeaders: Readonly<Record<string, string>> = {}) {
  const allow = allowed.join(', ');
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.method === 'OPTIONS') {
      for (const [name, value] of Object.entries(optionsHeaders)) res.setHeader(name, value);
      res.status(204).setHeader('Allow', allow).end();
      return;
    }
    const path = `${req.baseUrl}${req.path}`;
    next(
      new HttpError(405, HttpErrorCode.METHOD_NOT_ALLOWED, `${req.method} is not allowed on ${path}; allowed: ${allow}`, {
        Allow: allow,
      }),
    );
  };
}

/**
 * Headers and body of an error answered outside express (parser-level failures, requests
 * refused before routing); the connection closes after it.
 */
export function closingErrorAnswer(code: string, message: string): { headers: Record<string, string>; body: string } {
  const body = JSON.stringify({ error: { code, message } } satisfies ErrorBody);
  const headers = {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': 'no-store',
    Connection: 'close',
  };
  return { headers, body };
}

/** A raw HTTP/1.1 error response for the parser-level failures that never reach express. */
export function rawErrorResponse(status: number, code: string, message: string): string {
  const { headers, body } = closingErrorAnswer(code, message);
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`, ...head, '', body].join('\r\n');
}
