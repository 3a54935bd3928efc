import { CloseCode, ConnectionClosedError, type SpoolError, truncateCloseReason } from '@spool/common';
import { type RawData, WebSocket } from 'ws';
import { untilAborted } from './abortable.js';

export interface ConnectOptions {
  /** Give up if the opening handshake takes longer (ms). */
  handshakeTimeoutMs: number;
  /** Largest message accepted from the server (bytes). */
  maxPayload?: number | undefined;
  /** Extra HTTP headers for the upgrade request (e.g. authentication). */
  headers?: Record<string, string> | undefined;
  /** Subprotocols offered (`Sec-WebSocket-Protocol`). */
  protocols?: string[];
}

/**
 * Opens a WebSocket and resolves once it is open. Compression is not offered: data is
 * mostly already-compact logs/binaries streamed in real time, and Step servers expect
 * plain frames. Rejects with a ConnectionClosedError (details: url, httpStatus when the
 * server answered the upgrade with an HTTP error); the URL is named without its query,
 * which may hold a token. `attach` is called with the socket before it opens.
 */
export function connectWebSocket(url: URL, options: ConnectOptions, attach?: (ws: WebSocket) => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], {
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
      const shown = `${url.origin}${url.pathname}`;
      const details: Record<string, unknown> = { url: shown, cause: error.message };
      if (httpStatus !== undefined) details.httpStatus = Number(httpStatus);
      reject(new ConnectionClosedError(`Cannot connect to ${shown}: ${error.message}`, details));
    };
    ws.once('open', onOpen);
    ws.once('error', onError);
  });
}

/** Whether a failure of {@link connectWebSocket} may pass: the server could not be reached, or answered 5xx. */
export function isRetryableConnectFailure(error: ConnectionClosedError): boolean {
  const httpStatus = error.details?.httpStatus;
  return typeof httpStatus !== 'number' || httpStatus >= 500;
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
  /** Suspends the check while the socket is not read (pongs could not be seen). */
  pause(): void;
  /** Resumes the check, starting a fresh interval. */
  resume(): void;
  stop(): void;
}

const NO_HEARTBEAT: Heartbeat = { noteTraffic: () => undefined, pause: () => undefined, resume: () => undefined, stop: () => undefined };

/**
 * Detects a dead peer (no close, no FIN — e.g. a vanished NAT mapping), which would
 * otherwise leave a follower or an idle growing-file upload waiting forever: pings every
 * `intervalMs` while the socket is open and read, and terminates it when a whole interval
 * after a ping passes with no sign of life — any message, ping or pong, or
 * {@link Heartbeat.noteTraffic}. Counting any traffic keeps peers alive that ping but do
 * not answer pings, and uploads whose ping waits behind megabytes of queued data. Calls
 * `onDead` before terminating; stops on close.
 */
export function startHeartbeat(ws: WebSocket, intervalMs: number, onDead: () => void): Heartbeat {
  // Nothing to watch on a socket already closed (its 'close' would never stop the timer).
  if (!(intervalMs > 0) || ws.readyState === WebSocket.CLOSED) return NO_HEARTBEAT;
  let silentIntervals = 0;
  let paused = false;
  const noteTraffic = () => {
    silentIntervals = 0;
  };
  ws.on('message', noteTraffic);
  ws.on('ping', noteTraffic);
  ws.on('pong', noteTraffic);
  const timer = setInterval(() => {
    if (paused || ws.readyState !== WebSocket.OPEN) return;
    if (++silentIntervals >= 2) {
      stop();
      onDead();
      ws.terminate();
      return;
    }
    ws.ping();
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
  return {
    noteTraffic,
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
      silentIntervals = 0;
    },
    stop,
  };
}

/**
 * Bounds the bytes handed to a socket but not yet written out: {@link send} resolves at
 * once while at most `highWaterMark` bytes are in flight, else once the socket has written
 * enough — an uploader's back-pressure, which keeps its memory bounded.
 */
export class SendWindow {
  #inFlightBytes = 0;
  #opened: (() => void) | undefined;

  /** `onWritten` is called for each message written out (our data being consumed is a sign of life). */
  constructor(
    private readonly ws: WebSocket,
    private readonly highWaterMark: number,
    private readonly onWritten: () => void = () => undefined,
  ) {}

  /** Sends `data` as a binary frame (`fin` false: more frames of the same message follow); a wait rejects when `ended` aborts. */
  async send(data: Buffer, fin: boolean, ended: AbortSignal): Promise<void> {
    const length = data.length;
    this.#inFlightBytes += length;
    this.ws.send(data, { binary: true, fin }, (error) => {
      this.#inFlightBytes -= length;
      // A failed write is followed by 'close', which carries the better explanation.
      if (!error) this.onWritten();
      if (this.#inFlightBytes <= this.highWaterMark) {
        const opened = this.#opened;
        this.#opened = undefined;
        opened?.();
      }
    });
    while (this.#inFlightBytes > this.highWaterMark) {
      const opened = new Promise<void>((resolve) => {
        this.#opened = resolve;
      });
      await untilAborted(opened, ended);
    }
  }
}

/**
 * `error` with, after an abnormal close (1006: no close frame), the last error the socket
 * reported as its `cause` detail: the only explanation there is.
 */
export function withAbnormalCloseCause(error: SpoolError, code: number, lastSocketError: Error | undefined): SpoolError {
  if (code === CloseCode.ABNORMAL && lastSocketError && error.details) error.details.cause = lastSocketError.message;
  return error;
}

/** A received message as one Buffer (ws hands out Buffer, ArrayBuffer or fragments). */
export function rawDataToBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
