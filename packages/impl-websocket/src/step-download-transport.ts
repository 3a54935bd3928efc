import { type DownloadTransport, requestChunkChecked, requestLinesChecked, StatusTracker } from '@spool/client-download';
import {
  CloseCode,
  ConnectionClosedError,
  fromStepStatusChanged,
  ProtocolViolationError,
  ResourceNotFoundError,
  type ResourceStatus,
  type SpoolError,
  type StepRequestChunk,
  type StepRequestLines,
} from '@spool/common';
import type { RawData, WebSocket } from 'ws';
import { errorFromClose } from './close-errors.js';
import { parseServerMessage, STEP_DOWNLOAD_SERVER_MESSAGES } from './server-messages.js';
import { closeWebSocket, connectWebSocket, rawDataToBuffer, startHeartbeat, withAbnormalCloseCause } from './web-socket-connection.js';

export interface StepDownloadTransportOptions {
  /** Largest message accepted from the server (bytes); must exceed the largest chunk requested. */
  maxMessageBytes: number;
  /** Opening handshake timeout (ms). */
  connectTimeoutMs: number;
  /** Ping interval for dead-server detection (ms; 0 disables). */
  keepAliveIntervalMs: number;
  /** Extra HTTP headers for the upgrade request. */
  headers?: Record<string, string>;
}

type PendingRequest =
  | { kind: 'chunk'; resolve(bytes: Buffer): void; reject(error: SpoolError): void }
  | { kind: 'lines'; resolve(lines: string[]): void; reject(error: SpoolError): void };

/**
 * The Step download WebSocket (`/ws/streaming/download/<id>`) as a {@link DownloadTransport}.
 * The server answers requests in order, one at a time, so replies are matched to a FIFO
 * of pending requests: a binary message answers the oldest RequestChunk, a `Lines`
 * message the oldest RequestLines; `StatusChanged` may arrive at any time.
 */
export class StepDownloadTransport implements DownloadTransport {
  readonly resourceId: string;
  readonly #ws: WebSocket;
  readonly #pending: PendingRequest[] = [];
  /** Latest status and, once the socket closed, why: replayed to late listeners. */
  readonly #statuses = new StatusTracker();
  /** Set as soon as the connection is known to be ending, with the reason to report. */
  #closeError: SpoolError | undefined;
  #lastSocketError: Error | undefined;

  /**
   * Connects to the download URL (`ws(s)://…/ws/streaming/download/<ref>`) of the resource
   * `resourceId` names (an id; on Spool servers also a name). Resolves once the socket is
   * open (statuses follow; see `RemoteResource.open`).
   * @throws ResourceNotFoundError if the server answers the upgrade with 404.
   * @throws ConnectionClosedError if the server cannot be reached.
   */
  static async connect(url: URL, resourceId: string, options: StepDownloadTransportOptions): Promise<StepDownloadTransport> {
    let transport: StepDownloadTransport | undefined;
    try {
      await connectWebSocket(
        url,
        { handshakeTimeoutMs: options.connectTimeoutMs, maxPayload: options.maxMessageBytes, headers: options.headers },
        (ws) => {
          transport = new StepDownloadTransport(ws, resourceId, options.keepAliveIntervalMs);
        },
      );
    } catch (error) {
      if (error instanceof ConnectionClosedError && error.details?.httpStatus === 404) throw new ResourceNotFoundError(resourceId);
      throw error;
    }
    return transport as StepDownloadTransport;
  }

  private constructor(ws: WebSocket, resourceId: string, keepAliveIntervalMs: number) {
    this.#ws = ws;
    this.resourceId = resourceId;
    ws.on('message', (data: RawData, isBinary: boolean) => this.#onMessage(data, isBinary));
    ws.on('close', (code: number, reason: Buffer) => this.#onClose(code, reason.toString('utf8')));
    ws.on('error', (error: Error) => {
      this.#lastSocketError = error;
    });
    startHeartbeat(ws, keepAliveIntervalMs, () => {
      this.#closeError ??= new ConnectionClosedError(
        `Connection lost: no sign of life from the server for ${keepAliveIntervalMs} ms after a ping`,
        { resourceId },
      );
    });
  }

  onStatus(listener: (status: ResourceStatus) => void): () => void {
    return this.#statuses.subscribe(listener);
  }

  onClose(listener: (error: SpoolError) => void): () => void {
    return this.#statuses.onClose(listener);
  }

  requestChunk(start: number, end: number): Promise<Buffer> {
    const request: StepRequestChunk = { '@': 'RequestChunk', startOffset: start, endOffset: end };
    return requestChunkChecked(
      start,
      end,
      () => new Promise<Buffer>((resolve, reject) => this.#send({ kind: 'chunk', resolve, reject }, request)),
    );
  }

  requestLines(start: number, count: number): Promise<string[]> {
    const request: StepRequestLines = { '@': 'RequestLines', startingLineIndex: start, linesCount: count };
    return requestLinesChecked(
      start,
      count,
      () => new Promise<string[]>((resolve, reject) => this.#send({ kind: 'lines', resolve, reject }, request)),
    );
  }

  async close(): Promise<void> {
    this.#closeError ??= new ConnectionClosedError('Connection closed by the client', { resourceId: this.resourceId });
    await closeWebSocket(this.#ws, CloseCode.NORMAL, '');
  }

  #send(pending: PendingRequest, request: StepRequestChunk | StepRequestLines): void {
    if (this.#closeError || this.#ws.readyState !== this.#ws.OPEN) {
      pending.reject(this.#closeError ?? new ConnectionClosedError('Connection is closed', { resourceId: this.resourceId }));
      return;
    }
    this.#pending.push(pending);
    this.#ws.send(JSON.stringify(request));
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      const request = this.#pending.shift();
      if (request?.kind !== 'chunk') {
        this.#protocolViolation('The server sent bytes nobody asked for');
        return;
      }
      request.resolve(rawDataToBuffer(data));
      return;
    }
    const message = parseServerMessage(data, STEP_DOWNLOAD_SERVER_MESSAGES, (reason) => this.#protocolViolation(reason));
    if (!message) return;
    if (message['@'] === 'StatusChanged') {
      this.#statuses.update(fromStepStatusChanged(this.resourceId, message));
      return;
    }
    const request = this.#pending.shift();
    if (request?.kind !== 'lines') {
      this.#protocolViolation('The server sent Lines nobody asked for');
      return;
    }
    request.resolve(message.lines);
  }

  #protocolViolation(message: string): void {
    this.#closeError ??= new ProtocolViolationError(message, { resourceId: this.resourceId });
    void closeWebSocket(this.#ws, CloseCode.PROTOCOL_ERROR, message);
  }

  #onClose(code: number, reason: string): void {
    this.#closeError ??= withAbnormalCloseCause(errorFromClose(code, reason), code, this.#lastSocketError);
    const error = this.#closeError;
    for (const request of this.#pending.splice(0)) request.reject(error);
    this.#statuses.close(error);
  }
}
