import { ConnectionClosedError, truncateCloseReason } from '@spool/common';
import { type RawData, WebSocket } from 'ws';

export interface ConnectOptions {
  /** Give up if the opening handshake takes longer (ms). */
  handshakeTimeoutMs: number;
  /** Largest message accepted from the server (bytes). */
  maxPayload?: number;
  /** Extra HTTP headers for the upgrade request (e.g. authentication). */
  headers?: Record<string, string>;
}

/**
 * Opens a WebSocket and resolves once it is open. Compression is not offered: data is
 * mostly already-compact logs/binaries streamed in real time, and Step servers expect
 * plain frames. Rejects with a ConnectionClosedError (details: url, httpStatus when the
 * server answered the upgrade with an HTTP error). `attach` is called with the socket
 * before it opens.
 */
export function connectWebSocket(url: URL, options: ConnectOptions, attach?: (ws: WebSocket) => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      handshakeTimeout: options.handshakeTimeoutMs,
      ...(options.maxPayload === undefined ? {} : { maxPayload: options.maxPayload }),
      ...(options.headers === undefined ? {} : { headers: options.headers }),
    });
    // Handlers attached now see a message the server sends right after the handshake,
    // which can be emitted before a continuation of the returned promise runs.
    attach?.(ws);
    const onOpen = () => {
      ws.off('error', onError);
      resolve(ws);
    };
    const onError = (error: Error) => {
      ws.off('open', onOpen);
      const httpStatus = /Unexpected server response: (\d+)/.exec(error.message)?.[1];
      const details: Record<string, unknown> = { url: url.href, cause: error.message };
      if (httpStatus !== undefined) details.httpStatus = Number(httpStatus);
      reject(new ConnectionClosedError(`Cannot connect to ${url.href}: ${error.message}`, details));
    };
    ws.once('open', onOpen);
    ws.once('error', onError);
  });
}

/**
 * Closes with `code` and `reason` (cut to the 123-byte limit) and resolves once the
 * socket is closed; terminates it if the close handshake takes longer than `timeoutMs`.
 */
export function closeWebSocket(ws: WebSocket, code: number, reason: string, timeoutMs = 5_000): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => ws.terminate(), timeoutMs);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    if (ws.readyState === WebSocket.OPEN) ws.close(code, truncateCloseReason(reason));
    else if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    // CLOSING: a close is already under way.
  });
}

/** A running heartbeat (see {@link startHeartbeat}). */
export interface Heartbeat {
  /** Records other evidence that the peer is alive (e.g. our data being consumed). */
  noteTraffic(): void;
  stop(): void;
}

/**
 * Detects a dead peer (no close, no FIN — e.g. a vanished NAT mapping), which would
 * otherwise leave a follower or an idle growing-file upload waiting forever: pings every
 * `intervalMs` and terminates the socket when a whole interval after a ping passes with
 * no sign of life — any message, ping or pong, or {@link Heartbeat.noteTraffic}. Counting
 * any traffic keeps peers alive that ping but do not answer pings, and uploads whose ping
 * waits behind megabytes of queued data. Calls `onDead` before terminating; stops on close.
 */
export function startHeartbeat(ws: WebSocket, intervalMs: number, onDead: () => void): Heartbeat {
  if (!(intervalMs > 0)) return { noteTraffic: () => undefined, stop: () => undefined };
  let silentIntervals = 0;
  const noteTraffic = () => {
    silentIntervals = 0;
  };
  ws.on('message', noteTraffic);
  ws.on('ping', noteTraffic);
  ws.on('pong', noteTraffic);
  const timer = setInterval(() => {
    if (++silentIntervals >= 2) {
      stop();
      onDead();
      ws.terminate();
      return;
    }
    if (ws.readyState === WebSocket.OPEN) ws.ping();
  }, intervalMs);
  // A heartbeat alone must not keep the process alive.
  timer.unref();
  const stop = () => {
    clearInterval(timer);
    ws.off('message', noteTraffic);
    ws.off('ping', noteTraffic);
    ws.off('pong', noteTraffic);
  };
  ws.once('close', stop);
  return { noteTraffic, stop };
}

/** A received message as one Buffer (ws hands out Buffer, ArrayBuffer or fragments). */
export function rawDataToBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
