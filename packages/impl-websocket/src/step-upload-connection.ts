import {
  CloseCode,
  ProtocolViolationError,
  type SpoolError,
  STEP_UPLOAD_COMPLETED_REASON,
  type StepFinishUpload,
  type StepReadyForUpload,
  type StepStartUpload,
  type StepUploadAcknowledged,
  TimeoutError,
} from '@spool/common';
import type { RawData, WebSocket } from 'ws';
import { ClientCloseCode, errorFromClose } from './close-errors.js';
import { parseServerMessage, STEP_UPLOAD_SERVER_MESSAGES, type StepUploadServerMessage as UploadServerMessage } from './server-messages.js';
import { closeWebSocket, type Heartbeat, SendWindow, startHeartbeat, withAbnormalCloseCause } from './web-socket-connection.js';

type UploadServerMessageType = UploadServerMessage['@'];

interface PendingReply {
  type: UploadServerMessageType;
  resolve(message: UploadServerMessage): void;
  reject(error: SpoolError): void;
}

export interface StepUploadConnectionOptions {
  /** Bytes handed to the socket but not yet written out before sendFrame() waits. */
  highWaterMark: number;
  /** Ping interval for dead-peer detection (0 disables). */
  keepAliveIntervalMs: number;
}

/**
 * One Step upload WebSocket: typed sends, waiting for the server's next message, a
 * bounded window of data in flight, and a single failure that every waiter sees
 * (server close mapped to a typed error, timeout, cancel, protocol violation).
 * Used by `StepUpload`; not needed by SDK users.
 */
export class StepUploadConnection {
  readonly #ws: WebSocket;
  readonly #window: SendWindow;
  readonly #heartbeat: Heartbeat;
  readonly #failed: Promise<never>;
  /** Aborted with the failure: waits race against it without retaining what they wait for (see abortable.ts). */
  readonly #failedSignal = new AbortController();
  readonly #closed: Promise<void>;
  #rejectFailed: (error: SpoolError) => void = () => undefined;
  #failure: SpoolError | undefined;
  #acknowledged = false;
  #pendingReply: PendingReply | undefined;
  #lastSocketError: Error | undefined;

  constructor(ws: WebSocket, options: StepUploadConnectionOptions) {
    this.#ws = ws;
    this.#failed = new Promise<never>((_, reject) => {
      this.#rejectFailed = reject;
    });
    // Observed through `failed` by whoever is waiting; never an unhandled rejection.
    this.#failed.catch(() => undefined);
    this.#closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    ws.on('message', (data: RawData, isBinary: boolean) => this.#onMessage(data, isBinary));
    ws.on('close', (code: number, reason: Buffer) => this.#onClose(code, reason.toString('utf8')));
    ws.on('error', (error: Error) => {
      this.#lastSocketError = error;
    });
    this.#heartbeat = startHeartbeat(ws, options.keepAliveIntervalMs, () => {
      this.#lastSocketError = new Error(`no sign of life from the server for ${options.keepAliveIntervalMs} ms after a ping`);
    });
    this.#window = new SendWindow(ws, options.highWaterMark, () => this.#heartbeat.noteTraffic());
  }

  /** The first failure, once there is one. */
  get failure(): SpoolError | undefined {
    return this.#failure;
  }

  /** Aborted (reason: the failure) as soon as the upload fails. */
  get failedSignal(): AbortSignal {
    return this.#failedSignal.signal;
  }

  /** Rejects with the failure as soon as the upload fails; never resolves. */
  get failed(): Promise<never> {
    return this.#failed;
  }

  /** Resolves when the socket is closed. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /** True once UploadAcknowledged arrived: the resource is COMPLETED, whatever happens next. */
  get acknowledged(): boolean {
    return this.#acknowledged;
  }

  /** Waits for the server's next message, which must be of `type`. */
  expect(type: 'ReadyForUpload', timeoutMs: number): Promise<StepReadyForUpload>;
  expect(type: 'UploadAcknowledged', timeoutMs: number): Promise<StepUploadAcknowledged>;
  expect(type: UploadServerMessageType, timeoutMs: number): Promise<UploadServerMessage> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise<UploadServerMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(
          new TimeoutError(`The server sent no ${type} within ${timeoutMs} ms`),
          ClientCloseCode.TIMEOUT,
          `Timeout waiting for ${type}`,
        );
      }, timeoutMs);
      this.#pendingReply = {
        type,
        resolve: (message) => {
          clearTimeout(timer);
          if (message['@'] === 'UploadAcknowledged') this.#acknowledged = true;
          resolve(message);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    });
  }

  send(message: StepStartUpload | StepFinishUpload): void {
    if (this.#failure) throw this.#failure;
    this.#ws.send(JSON.stringify(message));
  }

  /**
   * Sends one frame of the (single, fragmented) binary data message; `fin` ends it.
   * Resolves at once while less than `highWaterMark` bytes are in flight, else when the
   * socket has written enough out — that is the back-pressure keeping memory bounded.
   */
  async sendFrame(frame: Buffer, fin: boolean): Promise<void> {
    if (this.#failure) throw this.#failure;
    await this.#window.send(frame, fin, this.#failedSignal.signal);
  }

  /**
   * Fails the upload (first failure wins) and closes the socket with `closeCode`, which
   * makes the server mark the resource FAILED. Returns the failure in effect.
   */
  fail(error: SpoolError, closeCode: number, reason: string): SpoolError {
    if (this.#failure || this.#acknowledged) return this.#failure ?? error;
    this.#setFailure(error);
    void closeWebSocket(this.#ws, closeCode, reason);
    return error;
  }

  /** After the acknowledgement: closes with 1000 "Upload completed", as Step clients do. */
  async closeCompleted(): Promise<void> {
    await closeWebSocket(this.#ws, CloseCode.NORMAL, STEP_UPLOAD_COMPLETED_REASON);
  }

  #setFailure(error: SpoolError): void {
    this.#failure = error;
    this.#rejectFailed(error);
    this.#failedSignal.abort(error);
    const pending = this.#pendingReply;
    this.#pendingReply = undefined;
    pending?.reject(error);
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.#protocolViolation('The server sent binary data on the upload path');
      return;
    }
    const message = parseServerMessage(data, STEP_UPLOAD_SERVER_MESSAGES, (reason) => this.#protocolViolation(reason));
    if (!message) return;
    const pending = this.#pendingReply;
    if (!pending || pending.type !== message['@']) {
      this.#protocolViolation(`The server sent ${message['@']} unexpectedly`);
      return;
    }
    this.#pendingReply = undefined;
    pending.resolve(message);
  }

  #protocolViolation(message: string): void {
    this.fail(new ProtocolViolationError(message), CloseCode.PROTOCOL_ERROR, message);
  }

  #onClose(code: number, reason: string): void {
    this.#heartbeat.stop();
    if (this.#failure || this.#acknowledged) return;
    this.#setFailure(withAbnormalCloseCause(errorFromClose(code, reason), code, this.#lastSocketError));
  }
}
