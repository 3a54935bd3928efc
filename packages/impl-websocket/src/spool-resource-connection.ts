import { type DownloadTransport, firstStatus, requestChunkChecked, requestLinesChecked, StatusTracker } from '@spool/client-download';
import {
  ConnectionClosedError,
  fromSpoolStatus,
  ProtocolViolationError,
  type ResolvedReconnectOptions,
  type ResourceStatus,
  type SpoolError,
  type SpoolResourceServerMessage,
  toSpoolError,
} from '@spool/common';
import { reconnectWithBackoff } from './reconnect.js';
import { RESOURCE_SERVER_MESSAGES } from './server-messages.js';
import { errorFromSpoolWire } from './spool-errors.js';
import { SpoolSocket, type SpoolSocketEnded, type SpoolSocketOptions, unwrapEnded } from './spool-socket.js';

/** Receives the bytes a `follow` pushes. */
export interface FollowSink {
  /** Offset of the next byte wanted: where the follow restarts after a reconnect. */
  readonly nextOffset: number;
  /**
   * Pushed bytes [offset, offset + data.length). Resources are append-only, so a piece
   * that overlaps what the sink already has carries the same bytes: the sink takes the
   * part from `nextOffset` on (that is what makes delivery exactly-once across reconnects).
   */
  onData(offset: number, data: Buffer): void;
}

export interface SpoolResourceConnectionOptions {
  socket: SpoolSocketOptions;
  reconnect: ResolvedReconnectOptions;
}

type PendingRead =
  | { kind: 'range'; message: object; length: number; resolve(bytes: Buffer): void; reject(error: SpoolError): void }
  | { kind: 'lines'; message: object; resolve(lines: string[]): void; reject(error: SpoolError): void };

/** The text message that announced the next binary message. */
type Announced = { kind: 'data'; offset: number; length: number } | { kind: 'range'; requestId: number; length: number };

type ResourceSocket = SpoolSocket<SpoolResourceServerMessage>;

/**
 * One resource over `/ws/spool/v1/resources/{id or name}`, as a {@link DownloadTransport}: status
 * push, request/reply reads matched by request id, and one push-follow feeding a
 * {@link FollowSink}. A lost connection is re-established with backoff: the follow
 * restarts at the sink's next offset and unanswered reads are asked again (reads are
 * idempotent), so users see one connection that only ends on a refusal, on `close()`, or
 * when reconnecting gives up.
 */
export class SpoolResourceConnection implements DownloadTransport {
  /** The id or name it was opened by; its id once the first status told it. */
  #ref: string;
  readonly #urlOf: (ref: string) => URL;
  readonly #options: SpoolResourceConnectionOptions;
  /** Latest status and close reason, replayed to late listeners (the same tracker RemoteResource uses). */
  readonly #statuses = new StatusTracker();
  readonly #pending = new Map<number, PendingRead>();
  #socket: ResourceSocket;
  #nextRequestId = 1;
  #announced: Announced | undefined;
  #follow: FollowSink | undefined;
  #paused = false;
  #closing = false;
  #reconnects = 0;
  /** Aborted once the connection ended for good: stops reconnecting. */
  readonly #finished = new AbortController();

  /**
   * Connects to the resource `ref` (an id or a name) names, at `urlOf(ref)` (the first
   * connection is not retried: its refusal, e.g. an unknown resource, is the answer).
   * Statuses follow; see {@link firstStatus}. Reconnects go by the id the first status
   * tells, so a name that passes to a newer resource meanwhile does not switch resources.
   * @throws ConnectionClosedError if the server cannot be reached.
   */
  static async connect(
    urlOf: (ref: string) => URL,
    ref: string,
    options: SpoolResourceConnectionOptions,
  ): Promise<SpoolResourceConnection> {
    const socket = await SpoolSocket.open<SpoolResourceServerMessage>(urlOf(ref), RESOURCE_SERVER_MESSAGES, options.socket).catch(
      unwrapEnded,
    );
    return new SpoolResourceConnection(urlOf, ref, options, socket);
  }

  private constructor(urlOf: (ref: string) => URL, ref: string, options: SpoolResourceConnectionOptions, socket: ResourceSocket) {
    this.#urlOf = urlOf;
    this.#ref = ref;
    this.#options = options;
    this.#socket = socket;
    this.#watch(socket);
  }

  #attach(socket: ResourceSocket): void {
    socket.attach({
      message: (message) => this.#onSocketMessage(socket, message),
      binary: (data) => this.#onSocketBinary(socket, data),
    });
  }

  /** The resource's id (before the first status: what it was opened by). */
  get resourceId(): string {
    return this.#ref;
  }

  /** Times the connection was re-established. */
  get reconnects(): number {
    return this.#reconnects;
  }

  /** Resolves with the first status; rejects if the connection ends first or after `timeoutMs`. */
  firstStatus(timeoutMs: number): Promise<ResourceStatus> {
    return firstStatus(this, timeoutMs);
  }

  onStatus(listener: (status: ResourceStatus) => void): () => void {
    return this.#statuses.subscribe(listener);
  }

  onClose(listener: (error: SpoolError) => void): () => void {
    return this.#statuses.onClose(listener);
  }

  requestChunk(start: number, end: number): Promise<Buffer> {
    return requestChunkChecked(
      start,
      end,
      () =>
        new Promise<Buffer>((resolve, reject) => {
          const requestId = this.#nextRequestId++;
          const message = { type: 'readRange', requestId, start, end };
          this.#request(requestId, { kind: 'range', message, length: end - start, resolve, reject });
        }),
    );
  }

  requestLines(start: number, count: number): Promise<string[]> {
    return requestLinesChecked(
      start,
      count,
      () =>
        new Promise<string[]>((resolve, reject) => {
          const requestId = this.#nextRequestId++;
          this.#request(requestId, { kind: 'lines', message: { type: 'readLines', requestId, start, count }, resolve, reject });
        }),
    );
  }

  /** Starts pushing bytes to `sink` from its next offset (replacing any other follow). */
  follow(sink: FollowSink): void {
    this.#follow = sink;
    if (this.#socket.open) this.#socket.send({ type: 'follow', from: sink.nextOffset });
  }

  /** Stops pushing to `sink` (pieces already under way are dropped). */
  unfollow(sink: FollowSink): void {
    if (this.#follow !== sink) return;
    this.#follow = undefined;
    if (this.#socket.open) this.#socket.send({ type: 'unfollow' });
  }

  /** Stops reading the socket (the follower's consumer is slow); the server then stops reading storage for it. */
  pause(): void {
    this.#paused = true;
    this.#socket.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#socket.resume();
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#finish(new ConnectionClosedError('Connection closed by the client', { resourceId: this.resourceId }));
    await this.#socket.close('Done');
  }

  #request(requestId: number, read: PendingRead): void {
    if (this.#statuses.closeError) {
      read.reject(this.#statuses.closeError);
      return;
    }
    this.#pending.set(requestId, read);
    // While reconnecting, it is sent once the new connection is up.
    if (this.#socket.open) this.#socket.send(read.message);
  }

  /** Messages of `socket` (ignored once it was replaced). */
  #onSocketMessage(socket: ResourceSocket, message: SpoolResourceServerMessage): void {
    if (socket !== this.#socket || this.#statuses.closeError) return;
    switch (message.type) {
      case 'status': {
        const status = fromSpoolStatus(this.#ref, message);
        this.#ref = status.id;
        this.#statuses.update(status);
        return;
      }
      case 'data':
        this.#announce(socket, { kind: 'data', offset: message.offset, length: message.length });
        return;
      case 'range':
        this.#announce(socket, { kind: 'range', requestId: message.requestId, length: message.end - message.start });
        return;
      case 'lines': {
        const read = this.#takeRead(socket, message.requestId, 'lines');
        if (read?.kind === 'lines') read.resolve(message.lines);
        return;
      }
      case 'error': {
        // With a requestId (the SpoolSocket keeps connection-level errors): that read failed.
        const read = message.requestId === undefined ? undefined : this.#pending.get(message.requestId);
        if (!read || message.requestId === undefined) return;
        this.#pending.delete(message.requestId);
        read.reject(errorFromSpoolWire(message));
        return;
      }
    }
  }

  /** Binary messages of `socket`: the bytes its last `data`/`range` message announced. */
  #onSocketBinary(socket: ResourceSocket, data: Buffer): void {
    if (socket !== this.#socket || this.#statuses.closeError) return;
    const announced = this.#announced;
    this.#announced = undefined;
    if (!announced) {
      this.#violation(socket, 'The server sent binary data without announcing it');
      return;
    }
    if (data.length !== announced.length) {
      this.#violation(socket, `The server announced ${announced.length} bytes and sent ${data.length}`);
      return;
    }
    if (announced.kind === 'data') {
      this.#follow?.onData(announced.offset, data);
      return;
    }
    const read = this.#takeRead(socket, announced.requestId, 'range');
    if (read?.kind === 'range') read.resolve(data);
  }

  #announce(socket: ResourceSocket, announced: Announced): void {
    if (this.#announced) {
      this.#violation(socket, 'The server announced binary data twice');
      return;
    }
    this.#announced = announced;
  }

  #takeRead(socket: ResourceSocket, requestId: number, kind: PendingRead['kind']): PendingRead | undefined {
    const read = this.#pending.get(requestId);
    if (!read || read.kind !== kind) {
      this.#violation(socket, `The server answered ${kind} request ${requestId}, which is not pending`);
      return undefined;
    }
    this.#pending.delete(requestId);
    return read;
  }

  #violation(socket: ResourceSocket, message: string): void {
    void socket.fail(new ProtocolViolationError(message, { resourceId: this.resourceId }));
  }

  /** Takes `socket`'s messages and its end. */
  #watch(socket: ResourceSocket): void {
    this.#attach(socket);
    socket.ended.catch((ended: SpoolSocketEnded) => {
      if (socket !== this.#socket || this.#statuses.closeError) return;
      if (this.#closing || !ended.end.retryable) {
        this.#finish(ended.end.error);
        return;
      }
      void this.#reconnect(ended.end.error);
    });
  }

  /** Re-establishes the connection after `lost`, with backoff; gives up with the last error. */
  async #reconnect(lost: SpoolError): Promise<void> {
    try {
      await reconnectWithBackoff({ policy: this.#options.reconnect, lost, signal: this.#finished.signal, attempt: () => this.#reopen() });
    } catch (error) {
      this.#finish(toSpoolError(error)); // a no-op when closed meanwhile
    }
  }

  /** One attempt: a new socket that takes over the follow, the pending reads and the paused state. */
  async #reopen(): Promise<void> {
    const socket = await SpoolSocket.open<SpoolResourceServerMessage>(
      this.#urlOf(this.#ref),
      RESOURCE_SERVER_MESSAGES,
      this.#options.socket,
    );
    if (this.#statuses.closeError) {
      await socket.close('Done');
      return;
    }
    this.#socket = socket;
    this.#announced = undefined;
    this.#reconnects++;
    this.#watch(socket);
    if (this.#paused) socket.pause();
    if (this.#follow) socket.send({ type: 'follow', from: this.#follow.nextOffset });
    for (const read of this.#pending.values()) socket.send(read.message);
  }

  /** The connection ended for good: every pending read and listener learns why. */
  #finish(error: SpoolError): void {
    if (this.#statuses.closeError) return;
    for (const read of this.#pending.values()) read.reject(error);
    this.#pending.clear();
    this.#statuses.close(error);
    this.#finished.abort(error);
  }
}
