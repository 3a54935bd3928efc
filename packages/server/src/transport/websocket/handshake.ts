import { createHash } from 'node:crypto';
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorCode } from '@spool/common';
import { WsConnection, type WsConnectionOptions } from './connection.js';

/** RFC 6455 §1.3: appended to the client's key before hashing. */
const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Base64 of 16 bytes (same leniency as ws about the unused bits of the last character). */
const CLIENT_KEY_PATTERN = /^[+/0-9A-Za-z]{22}==$/;

export interface WsHandshakeOptions {
  /**
   * Picks one of the subprotocols the client offered (`Sec-WebSocket-Protocol`), or
   * undefined to select none. Without it no subprotocol is ever selected.
   */
  selectProtocol?: (offered: readonly string[], request: IncomingMessage) => string | undefined;
  /** Extra headers of the 101 answer (e.g. what this server offers beyond the protocol). */
  responseHeaders?: Readonly<Record<string, string>>;
}

interface HandshakeRejection {
  status: number;
  message: string;
  headers?: Record<string, string>;
}

/** Comma-separated header list items, trimmed (case kept: subprotocol names are case-sensitive). */
function splitHeaderList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const joined = Array.isArray(value) ? value.join(',') : value;
  return joined
    .split(',')
    .map((token) => token.trim())
    .filter((token) => token.length > 0);
}

function headerHasToken(value: string | string[] | undefined, token: string): boolean {
  return splitHeaderList(value).some((item) => item.toLowerCase() === token);
}

function validateUpgradeRequest(req: IncomingMessage): HandshakeRejection | undefined {
  if (req.method !== 'GET') return { status: 400, message: 'WebSocket upgrade requires GET' };
  if (req.httpVersionMajor < 1 || (req.httpVersionMajor === 1 && req.httpVersionMinor < 1)) {
    return { status: 400, message: 'WebSocket upgrade requires HTTP/1.1' };
  }
  if (!headerHasToken(req.headers.upgrade, 'websocket')) {
    return { status: 400, message: 'Missing or invalid Upgrade header (expected "websocket")' };
  }
  if (!headerHasToken(req.headers.connection, 'upgrade')) {
    return { status: 400, message: 'Missing or invalid Connection header (expected "Upgrade")' };
  }
  const version = req.headers['sec-websocket-version'];
  if (version !== '13') {
    return {
      status: 426,
      message: 'Unsupported Sec-WebSocket-Version (expected 13)',
      headers: { 'Sec-WebSocket-Version': '13' },
    };
  }
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string' || !CLIENT_KEY_PATTERN.test(key.trim())) {
    return { status: 400, message: 'Missing or invalid Sec-WebSocket-Key' };
  }
  return undefined;
}

/**
 * Completes an RFC 6455 opening handshake on a node:http 'upgrade' and returns the
 * connection, or answers 400/426 with a JSON error, destroys the socket and returns
 * undefined. No extension is negotiated, so permessage-deflate offers are declined.
 */
export function acceptWebSocket(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  options: WsConnectionOptions,
  handshake: WsHandshakeOptions = {},
): WsConnection | undefined {
  const rejection = validateUpgradeRequest(req);
  if (rejection !== undefined) {
    rejectUpgrade(socket, rejection.status, ErrorCode.INVALID_MESSAGE, rejection.message, rejection.headers);
    return undefined;
  }
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return undefined;
  }

  let protocol = '';
  const offered = splitHeaderList(req.headers['sec-websocket-protocol']);
  if (offered.length > 0 && handshake.selectProtocol !== undefined) {
    const selected = handshake.selectProtocol(offered, req);
    if (selected !== undefined && offered.includes(selected)) protocol = selected;
  }

  const key = (req.headers['sec-websocket-key'] as string).trim();
  const accept = createHash('sha1')
    .update(key + WEBSOCKET_GUID)
    .digest('base64');
  const lines = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${accept}`];
  if (protocol !== '') lines.push(`Sec-WebSocket-Protocol: ${protocol}`);
  for (const [name, value] of Object.entries(handshake.responseHeaders ?? {})) lines.push(`${name}: ${value}`);
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  return new WsConnection({ request: req, socket, head, options, protocol });
}

/**
 * Refuses an upgrade request with an HTTP error and a JSON body
 * `{"error":{"code","message"}}`, then closes the socket.
 */
export function rejectUpgrade(socket: Duplex, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  // node:http detached its own listeners at upgrade; an unhandled 'error' would crash.
  socket.on('error', () => socket.destroy());
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: { code, message } });
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  // Destroy once the response is flushed: destroying right away could discard it.
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy());
}
