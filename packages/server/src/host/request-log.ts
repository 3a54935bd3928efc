import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** An incoming `X-Request-Id` we echo and log as is: short, and nothing a log line or header could be confused by. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The request id: the client's (a proxy's) `X-Request-Id` if it is sane, else a new one. */
export function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** Bytes a socket moved since `since` was taken (a request's or a session's share of it). */
export function bytesSince(socket: { bytesRead: number; bytesWritten: number }): () => { bytesIn: number; bytesOut: number } {
  const read = socket.bytesRead;
  const written = socket.bytesWritten;
  return () => ({ bytesIn: socket.bytesRead - read, bytesOut: socket.bytesWritten - written });
}
