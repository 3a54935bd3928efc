import { ErrorCode, SpoolError } from '@spool/common';
import { HttpError, HttpErrorCode, type HttpErrorResponse, httpErrorFor } from '../../transport/http/errors.js';
import { NodeUnreachableError } from '../shared/rendezvous/owner-routing.js';

/** An http-rendezvous error: its status and `{"name","message"}` body, as the original answers. */
export class RendezvousError extends Error {
  constructor(
    readonly status: number,
    name: string,
    message: string,
  ) {
    super(message);
    this.name = name;
  }
}

export const invalidBody = (message: string) => new RendezvousError(400, 'InvalidBodyError', message);
export const sessionNotFound = (id: string) => new RendezvousError(404, 'SessionNotFoundError', `Stream ${id} not found or expired`);
export const alreadyConnected = (side: string) => new RendezvousError(429, 'AlreadyConnectedError', `Stream ${side} already connected`);
export const sessionTimeout = (missing: string) =>
  new RendezvousError(504, 'SessionTimeoutError', `Stream timed out waiting for ${missing}`);
export const streamStarted = () => new RendezvousError(409, 'StreamStartedError', 'Both sides of the stream are already connected');
export const sourceError = () => new RendezvousError(502, 'StreamSourceError', 'Stream source closed unexpectedly');
export const destinationError = () => new RendezvousError(502, 'StreamDestinationError', 'Stream destination closed unexpectedly');

/** `RESOURCE_NOT_FOUND` → `ResourceNotFoundError`: a Spool code as an error name in the original's style. */
function nameOfCode(code: string): string {
  return `${code
    .toLowerCase()
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('')}Error`;
}

/**
 * The rendezvous protocol's one error mapping: `{"name","message"}` JSON bodies. Its own
 * errors keep their status and name; a path or method it does not serve is
 * `BadRouteError`; the server's errors (access, limits) keep their status and are named
 * after their code.
 */
export function rendezvousErrorResponse(err: unknown): HttpErrorResponse<object> {
  if (err instanceof RendezvousError)
    return { status: err.status, headers: {}, body: { name: err.name, message: err.message }, expected: true };
  if (err instanceof NodeUnreachableError)
    return { status: 502, headers: {}, body: { name: err.name, message: err.message, code: err.code } };
  const answer = httpErrorFor(err);
  const { code, message } = answer.body.error;
  const routing = err instanceof HttpError && (err.code === HttpErrorCode.NOT_FOUND || err.code === HttpErrorCode.METHOD_NOT_ALLOWED);
  const known = err instanceof SpoolError || err instanceof HttpError;
  const name = routing ? 'BadRouteError' : known ? nameOfCode(code) : nameOfCode(ErrorCode.INTERNAL);
  // `code` beside the name, as Spool's other JSON errors carry it.
  return { status: answer.status, headers: answer.headers, body: { name, message, code } };
}
