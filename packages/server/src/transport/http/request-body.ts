import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidMessageError } from '@spool/common';

/** Requests whose `100 Continue` the server left to the route (see http-server.ts). */
const awaitingContinue = new WeakSet<IncomingMessage>();
/** Requests whose `100 Continue` was sent: their client is (or may be) sending the body. */
const continued = new WeakSet<IncomingMessage>();

/** The server defers `100 Continue` of `req` to the route that accepts its body. */
export function deferContinue(req: IncomingMessage): void {
  awaitingContinue.add(req);
}

/** True if the request carries a body (RFC 9112 §6.3: Transfer-Encoding, or a non-zero Content-Length). */
export function requestHasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && length !== '0';
}

/**
 * Called by a route once it has decided to read the body: a client that sent
 * `Expect: 100-continue` (curl does for large uploads) is told to go on only now, so a
 * refusal (404, 409 wrong offset, 413 declared too large) costs it no upload at all.
 */
export function acceptBody(req: IncomingMessage, res: ServerResponse): void {
  if (awaitingContinue.has(req) && !continued.has(req) && !res.headersSent) {
    continued.add(req);
    res.writeContinue();
  }
}

/** True if body bytes may still come that nobody will read (an answer then closes the connection). */
export function bodyStillArriving(req: IncomingMessage): boolean {
  if (!requestHasBody(req) || req.complete) return false;
  // A client waiting for a 100 Continue that never came sends no body.
  return !awaitingContinue.has(req) || continued.has(req);
}

/** The declared Content-Length, if any (Node has already refused malformed ones). */
export function declaredLength(req: IncomingMessage): number | undefined {
  const value = req.headers['content-length'];
  if (value === undefined) return undefined;
  const length = Number(value);
  if (!Number.isSafeInteger(length) || length < 0) throw new InvalidMessageError(`Invalid Content-Length ${value}`);
  return length;
}
