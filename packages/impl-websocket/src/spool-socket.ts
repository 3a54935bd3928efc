import {
  CloseCode,
  ConnectionClosedError,
  ErrorCode,
  ProtocolViolationError,
  SPOOL_SUBPROTOCOL,
  type SpoolError,
  type SpoolErrorMessage,
  TimeoutError,
  truncateCloseReason,
} from '@spool/common';
import { type RawData, WebSocket } from 'ws';
import { untilAborted } from './abortable.js';
import { ClientCloseCode } from './close-errors.js';
import { parseServerMessage, type ServerMessages } from './server-messages.js';
import { errorFromSpoolClose, errorFromSpoolWire, isRetryableClose } from './spool-errors.js';
import {
  closeWebSocket,
  connectWebSocket,
  type Heartbeat,
  isRetryableConnectFailure,
  rawDataToBuffer,
  SendWindow,
  startHeartbeat,
  withAbnormalCloseCause,
} from './web-socket-connection.js';

export interface SpoolSocketOptions {
  /** Opening handshake timeout (ms). */
  connectTimeoutMs: number;
  /** Ping interval for dead-server detection (ms; 0 disables). */
  keepAliveIntervalMs: number;
  /** Extra HTTP headers for the upgrade request (e.g. `authorization`). */
  headers?: Record<string, string> | undefined;
  /** Largest message accepted from the server (bytes). */
  maxPayload?: number | undefined;
  /** Bytes handed to the socket but not yet written before `sendBinary` waits (default 1 MiB). */
  highWaterMark?: number | undefined;
  /** Treat a close 1001 (server shutdown) as a lost connection that may be retried. */
  retryOnServerShutdown: boolean;
}

/** How a connection ended. */
export interface SpoolSocketEnd {
  error: SpoolError;
  /** The connection was lost (not refused): re-establishing it may succeed. */
  retryable: boolean;
}

/** Rejection of every wait on a socket that ended: carries how it ended. */
export class SpoolSocketEnded extends Error {
  constructor(readonly end: SpoolSocketEnd) {
    super(end.error.message);
    this.name = 'SpoolSocketEnded';
  }
}

/** Rethrows the error a connection ended with (a {@link SpoolSocketEnded} carries it); other errors as they are. */
export function unwrapEnded(error: unknown): never {
  throw error instanceof SpoolSocketEnded ? error.end.error : error;
}

/** The messages a Spool server sends on one path, `error` included. */
export type SpoolServerMessages<M> = ServerMessages<M | SpoolErrorMessage>;

export interface SpoolSocketHandlers<M> {
  /** A server message other than a connection-level `error` (which ends the socket). */
  message(message: M): void;
  /** A binary message (the protocol announces each with a text message just before it). */
  binary(data: Buffer): void;
}

interface Waiter<M> {
  type: string;
  resolve(message: M): void;
  reject(error: Error): void;
}

const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;

/**
 * One WebSocket of the Spool protocol, client side: connects offering the `spool.v1`
 * subprotocol, validates the server's JSON messages against a schema, sends with
 * back-pressure, and turns the end of the connection into one typed outcome — the
 * server's `error` message (code, message, details + close code), or the close, with
 * whether it was a loss worth retrying. Every wait rejects with {@link SpoolSocketEnded}.
 */
export class SpoolSocket<M extends { type: string }> {
  readonly #ws: WebSocket;
  readonly #messages: SpoolServerMessages<M>;
  #handlers: SpoolSocketHandlers<M> | undefined;
  /** Messages that arrived before {@link attach} (the server may speak right after the handshake). */
  #early: Array<{ data: RawData; isBinary: boolean }> | undefined = [];
  readonly #options: SpoolSocketOptions;
  readonly #window: SendWindow;
  #heartbeat: Heartbeat | undefined;
  readonly #ended: Promise<never>;
  #rejectEnded: (error: SpoolSocketEnded) => void = () => undefined;
  /** Aborted with the {@link SpoolSocketEnded} when the connection ends. */
  readonly #endController = new AbortController();
  #end: SpoolSocketEnd | undefined;
  /** An outcome decided on our side (protocol violation, timeout, normal close) before the close. */
  #localEnd: SpoolSocketEnd | undefined;
  #serverError: SpoolErrorMessage | undefined;
  #lastSocketError: Error | undefined;
  #waiters: Waiter<M>[] = [];

  /**
   * Connects; resolves once open. Rejects with {@link SpoolSocketEnded}: retryable when the
   * server could not be reached or answered 5xx, not when it answered another HTTP error.
   */
  static async open<M extends { type: string }>(
    url: URL,
    messages: SpoolServerMessages<M>,
    options: SpoolSocketOptions,
  ): Promise<SpoolSocket<M>> {
    let socket: SpoolSocket<M> | undefined;
    const connect = { handshakeTimeoutMs: options.connectTimeoutMs, maxPayload: options.maxPayload, headers: options.headers };
    try {
      await connectWebSocket(url, { ...connect, protocols: [SPOOL_SUBPROTOCOL] }, (ws) => {
        // Attached before 'open': the server may send right after the handshake.
        socket = new SpoolSocket<M>(ws, messages, options);
      });
    } catch (error) {
      if (!(error instanceof ConnectionClosedError)) throw error;
      throw new SpoolSocketEnded({ error, retryable: isRetryableConnectFailure(error) });
    }
    const opened = socket as SpoolSocket<M>;
    const intervalMs = options.keepAliveIntervalMs;
    opened.#heartbeat = startHeartbeat(opened.#ws, intervalMs, () => {
      opened.#lastSocketError = new Error(`no sign of life from the server for ${intervalMs} ms after a ping`);
    });
    return opened;
  }

  private constructor(ws: WebSocket, messages: SpoolServerMessages<M>, options: SpoolSocketOptions) {
    this.#ws = ws;
    this.#messages = messages;
    this.#options = options;
    // Our data being consumed is a sign of life too (a pong may wait behind it).
    this.#window = new SendWindow(ws, options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK, () => this.#heartbeat?.noteTraffic());
    this.#ended = new Promise<never>((_, reject) => {
      this.#rejectEnded = reject;
    });
    this.#ended.catch(() => undefined);
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (this.#early) this.#early.push({ data, isBinary });
      else this.#onMessage(data, isBinary);
    });
    ws.on('close', (code: number, reason: Buffer) => this.#onClose(code, reason.toString('utf8')));
    ws.on('error', (error: Error) => {
      this.#lastSocketError = error;
    });
  }

  /**
   * Starts delivering messages to `handlers`, first those that arrived since the
   * handshake. Until then nothing is lost (a few control messages at most are held).
   */
  attach(handlers: SpoolSocketHandlers<M>): this {
    this.#handlers = handlers;
    const early = this.#early ?? [];
    this.#early = undefined;
    for (const { data, isBinary } of early) this.#onMessage(data, isBinary);
    return this;
  }

  /** How the connection ended, once it has. */
  get end(): SpoolSocketEnd | undefined {
    return this.#end;
  }

  /** Rejects with {@link SpoolSocketEnded} when the connection ends; never resolves. */
  get ended(): Promise<never> {
    return this.#ended;
  }

  /** True while messages can be sent. */
  get open(): boolean {
    return this.#end === undefined && this.#localEnd === undefined && this.#ws.readyState === WebSocket.OPEN;
  }

  /** Aborted (reason: {@link SpoolSocketEnded}) when the connection ends. */
  get endSignal(): AbortSignal {
    return this.#endController.signal;
  }

  /** `promise`, unless the connection ends first (then {@link SpoolSocketEnded}). */
  race<T>(promise: Promise<T>): Promise<T> {
    return untilAborted(promise, this.#endController.signal);
  }

  /**
   * Sends a control message. On a connection that is closing it is dropped: whatever
   * waits for the reply learns how the connection ended (through {@link ended}).
   */
  send(message: object): void {
    if (this.open) this.#ws.send(JSON.stringify(message));
  }

  /**
   * Sends one binary message. Resolves at once while less than `highWaterMark` bytes are
   * in flight, else once the socket has written enough out: the uploader's back-pressure.
   */
  async sendBinary(data: Buffer): Promise<void> {
    if (!this.open) return this.#ended; // rejects with how it ended, once it has
    await this.#window.send(data, true, this.#endController.signal);
  }

  /**
   * Resolves with the next message of `type` (rejects when the connection ends first). After
   * `timeoutMs` the connection is dropped as lost (retryable): a server that stopped answering.
   */
  expect<T extends M>(type: T['type'], timeoutMs: number): Promise<T> {
    const reply = new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#drop(new TimeoutError(`The server sent no ${type} within ${timeoutMs} ms`), true, ClientCloseCode.TIMEOUT);
      }, timeoutMs);
      timer.unref();
      const waiter: Waiter<M> = {
        type,
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      if (this.#end) {
        waiter.reject(new SpoolSocketEnded(this.#end));
        return;
      }
      this.#waiters.push(waiter);
    });
    // Callers may fail (e.g. on send) before awaiting it: never an unhandled rejection.
    reply.catch(() => undefined);
    return reply;
  }

  /** Stops reading (the consumer is slow); keepalive pauses too, as pongs could not be read. */
  pause(): void {
    this.#heartbeat?.pause();
    this.#ws.pause();
  }

  resume(): void {
    this.#heartbeat?.resume();
    this.#ws.resume();
  }

  /** Closes because we are done (1000); the end is reported as a ConnectionClosedError, not retryable. */
  async close(reason: string): Promise<void> {
    this.#localEnd ??= { error: new ConnectionClosedError(`Connection closed by the client: ${reason}`), retryable: false };
    await closeWebSocket(this.#ws, CloseCode.NORMAL, reason);
  }

  /** Ends the connection on our side with `error` (close `code`); `retryable` says whether it counts as a loss. */
  fail(error: SpoolError, code: number = CloseCode.PROTOCOL_ERROR): Promise<void> {
    return this.#drop(error, false, code);
  }

  #drop(error: SpoolError, retryable: boolean, code: number): Promise<void> {
    this.#localEnd ??= { error, retryable };
    return closeWebSocket(this.#ws, code, truncateCloseReason(error.message));
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#end || this.#localEnd) return;
    if (isBinary) {
      this.#handlers?.binary(rawDataToBuffer(data));
      return;
    }
    const message = parseServerMessage(data, this.#messages, (reason) => void this.fail(new ProtocolViolationError(reason)));
    if (!message) return;
    if (message.type === 'error' && (message as SpoolErrorMessage).requestId === undefined) {
      // A close follows; the outcome is decided then (with the close code in details).
      this.#serverError = message as SpoolErrorMessage;
      return;
    }
    const typed = message as M;
    const at = this.#waiters.findIndex((w) => w.type === typed.type);
    if (at >= 0) {
      const [waiter] = this.#waiters.splice(at, 1);
      waiter?.resolve(typed);
    }
    this.#handlers?.message(typed);
  }

  #onClose(code: number, reason: string): void {
    const closeDetails = { closeCode: code, closeReason: reason };
    let end: SpoolSocketEnd;
    if (this.#serverError) {
      end = { error: errorFromSpoolWire(this.#serverError, closeDetails), retryable: false };
    } else if (this.#localEnd) {
      end = this.#localEnd;
    } else {
      const error = withAbnormalCloseCause(errorFromSpoolClose(code, reason), code, this.#lastSocketError);
      end = { error, retryable: error.code === ErrorCode.CONNECTION_CLOSED && isRetryableClose(code, this.#options.retryOnServerShutdown) };
    }
    this.#end = end;
    const ended = new SpoolSocketEnded(end);
    for (const waiter of this.#waiters.splice(0)) waiter.reject(ended);
    this.#endController.abort(ended);
    this.#rejectEnded(ended);
  }
}
