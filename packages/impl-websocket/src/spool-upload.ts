import { createHash } from 'node:crypto';
import {
  isCompletableSource,
  type ProgressReporter,
  releaseUploadSource,
  sourceFailure,
  type Upload,
  type UploadReference,
  type UploadResult,
  type UploadSource,
} from '@spool/client-upload';
import {
  CHECKSUM_ALGORITHMS,
  type ChecksumAlgorithm,
  ChecksumMismatchError,
  type Checksums,
  ConnectionClosedError,
  Crc32,
  ErrorCode,
  fromSpoolStatus,
  knownChecksums,
  OffsetMismatchError,
  ProtocolViolationError,
  type ResolvedReconnectOptions,
  ResourceTerminalError,
  SPOOL_RESOURCE_PATH_PREFIX,
  SPOOL_UPLOAD_DONE_REASON,
  type SpoolAborted,
  type SpoolCompleted,
  SpoolError,
  type SpoolReady,
  type SpoolStatus,
  type SpoolUploadServerMessage,
  UploadAbortedError,
  UploadFailedError,
} from '@spool/common';
import { untilAborted } from './abortable.js';
import { reconnectWithBackoff } from './reconnect.js';
import { parseResourceLocation, resourceUrl } from './resource-location.js';
import { RESOURCE_SERVER_MESSAGES, UPLOAD_SERVER_MESSAGES } from './server-messages.js';
import { SpoolSocket, SpoolSocketEnded, type SpoolSocketOptions, unwrapEnded } from './spool-socket.js';
import { withBearer } from './spool-urls.js';
import { UnacknowledgedBytes } from './unacknowledged-bytes.js';

/** Where readers find a resource uploaded over the Spool protocol. */
export interface SpoolUploadReference extends UploadReference {
  /** The Step-compatible download URI: every client can open it (the Spool SDK maps it to its own path). */
  uri: string;
  /** This protocol's resource URI (status, push-follow, reads). */
  spoolUri: string;
  /** The HTTP content URL: a link a person can open in a browser or with curl. */
  httpUri: string;
  /** With access control on: the token that lets anyone holding it read this resource (already in the URIs). */
  readToken?: string;
  /** With access control on: the token that lets its holder resume, finish or delete this resource. Keep it secret. */
  writeToken?: string;
}

/** The server's acknowledgement of a finished Spool upload. */
export interface SpoolUploadResult extends UploadResult {
  reference: SpoolUploadReference;
  /** Every checksum the server computed (hex); its crc32 verified end to end unless `verifyChecksum: false`. */
  checksums: Checksums;
  /** Lowercase hex SHA-256 of the bytes read from the source, when the client computed it (`sha256: true`). */
  sha256?: string;
  /** Times the connection was re-established during the upload. */
  reconnects: number;
}

/** Everything a {@link SpoolUpload} needs besides its source; built by `SpoolUploadClient`. */
export interface SpoolUploadSettings {
  uploadUrl: URL;
  /** Headers of the first connection (e.g. an uploader API token). Resumes use the write token when one was issued. */
  headers: Record<string, string> | undefined;
  socket: Omit<SpoolSocketOptions, 'headers'>;
  frameSize: number;
  maxUnacknowledgedBytes: number;
  responseTimeoutMs: number;
  reconnect: ResolvedReconnectOptions;
  /** Hash on the client and send the MD5 with `finish` (the server refuses a mismatch). */
  verifyMd5: boolean;
  /** Hash the source with SHA-256 on the client (reported in the result). */
  sha256: boolean;
  /** CRC-32 on the client, sent with `finish` for the server to verify. */
  verifyChecksum: boolean;
  /** The checksums the server computes; absent: the server's default (plus those the client verifies). */
  checksums?: readonly ChecksumAlgorithm[] | undefined;
}

/**
 * The checksums an upload asks the server for: those chosen, with those the client
 * verifies; none chosen: undefined, the server's default (a checksum verified at `finish`
 * that the server did not compute as bytes arrived, it computes from the stored bytes).
 */
export function requestedChecksums(settings: SpoolUploadSettings): ChecksumAlgorithm[] | undefined {
  if (!settings.checksums) return undefined;
  const verified: ChecksumAlgorithm[] = [
    ...(settings.verifyChecksum ? ['crc32' as const] : []),
    ...(settings.verifyMd5 ? ['md5' as const] : []),
  ];
  const all = new Set([...settings.checksums, ...verified]);
  return CHECKSUM_ALGORITHMS.filter((name) => all.has(name));
}

type UploadSocket = SpoolSocket<SpoolUploadServerMessage>;
/** Digests computed on the client, once the source ended. */
type Digests = { crc32?: string; md5?: string; sha256?: string };

/**
 * A Spool upload accepted by the server (`ready` received). In the background it reads
 * the source, sends it as binary messages and keeps every byte the server has not yet
 * acknowledged as durable (at most `maxUnacknowledgedBytes`: the source is read only
 * while there is room). When the connection is lost — network cut, server killed and
 * restarted — it reconnects with backoff, resumes with the write token, drops what the
 * server says is durable and sends the rest again from there: no byte missing, none
 * twice. Then `finish` → `completed`. Created by `SpoolUploadClient.upload()`.
 */
export class SpoolUpload implements Upload {
  readonly reference: SpoolUploadReference;
  readonly #settings: SpoolUploadSettings;
  readonly #source: UploadSource;
  readonly #frames: AsyncIterator<Buffer>;
  readonly #held = new UnacknowledgedBytes();
  readonly #cancel = new AbortController();
  readonly #result: Promise<SpoolUploadResult>;
  readonly #progressReporter: ProgressReporter;
  #socket: UploadSocket;
  /** Next offset to send on the current connection. */
  #sentOffset: number;
  #bytesSent = 0;
  #reconnects = 0;
  #finishSent = false;
  #settled = false;
  /** Woken by every durable ack and by the end of the connection. */
  #progress: (() => void) | undefined;

  /** Opens the connection, creates the resource and resolves once the server is ready. */
  static async start(
    settings: SpoolUploadSettings,
    source: UploadSource,
    frames: AsyncIterable<Buffer>,
    create: { metadata: object; contextId?: string | undefined; name?: string | undefined },
    progress: ProgressReporter,
  ): Promise<SpoolUpload> {
    let upload: SpoolUpload | undefined;
    const socket = await SpoolSocket.open<SpoolUploadServerMessage>(settings.uploadUrl, UPLOAD_SERVER_MESSAGES, {
      ...settings.socket,
      headers: settings.headers,
    }).catch(unwrapEnded);
    // biome-ignore lint/complexity/useOptionalChain: TypeScript allows no `?.` before a private name
    socket.attach({ message: (message) => upload && upload.#onMessage(socket, message), binary: () => undefined });
    try {
      const ready = socket.expect<SpoolReady>('ready', settings.responseTimeoutMs);
      const checksums = requestedChecksums(settings);
      socket.send({
        type: 'create',
        ...(checksums ? { checksums } : {}),
        metadata: create.metadata,
        ...(create.contextId === undefined ? {} : { contextId: create.contextId }),
        ...(create.name === undefined ? {} : { name: create.name }),
      });
      const message = await ready.catch(unwrapEnded);
      if (message.offset !== 0) {
        const violation = new ProtocolViolationError(`A new upload was told to start at offset ${message.offset}`);
        void socket.fail(violation);
        throw violation;
      }
      upload = new SpoolUpload(settings, socket, message, source, frames, progress);
      return upload;
    } catch (error) {
      await socket.close('Upload not started');
      throw error;
    }
  }

  private constructor(
    settings: SpoolUploadSettings,
    socket: UploadSocket,
    ready: SpoolReady,
    source: UploadSource,
    frames: AsyncIterable<Buffer>,
    progress: ProgressReporter,
  ) {
    this.#settings = settings;
    this.#progressReporter = progress;
    this.#socket = socket;
    this.#sentOffset = ready.offset;
    this.#source = source;
    this.#frames = frames[Symbol.asyncIterator]();
    this.reference = {
      uri: ready.references.step,
      id: ready.id,
      spoolUri: ready.references.spool,
      httpUri: ready.references.http,
      ...(ready.name ? { name: ready.name } : {}),
      ...(ready.readToken ? { readToken: ready.readToken } : {}),
      ...(ready.writeToken ? { writeToken: ready.writeToken } : {}),
    };
    this.#result = this.#run().finally(() => {
      this.#settled = true;
    });
    // Reported through complete(); not an unhandled rejection if nobody asks.
    this.#result.catch(() => undefined);
  }

  /** Bytes handed to a connection at least once (after transcoding). */
  get bytesSent(): number {
    return this.#bytesSent;
  }

  /** Bytes the server has acknowledged as durable. */
  get bytesDurable(): number {
    return this.#held.start;
  }

  /** Resolves once the upload ended, whichever way (never rejects; `complete()` tells how). */
  get settled(): Promise<void> {
    return this.#result.then(
      () => undefined,
      () => undefined,
    );
  }

  complete(): Promise<SpoolUploadResult> {
    if (isCompletableSource(this.#source)) this.#source.complete();
    return this.#result;
  }

  /**
   * Aborts: the server marks the resource FAILED (bytes kept). Without a live connection
   * the upload just stops; the server fails the resource after its resume grace period.
   * No-op once `finish` was sent.
   */
  async cancel(reason = 'Upload cancelled'): Promise<void> {
    if (this.#settled || this.#finishSent || this.#cancel.signal.aborted) {
      await this.#result.catch(() => undefined);
      return;
    }
    // Stop the sender first: nothing may follow the abort message.
    this.#cancel.abort(new UploadAbortedError(`Upload cancelled: ${reason}`, { reason }));
    const socket = this.#socket;
    if (socket.open) {
      try {
        const aborted = socket.expect<SpoolAborted>('aborted', this.#settings.responseTimeoutMs);
        socket.send({ type: 'abort', reason });
        await aborted;
      } catch {
        // Lost meanwhile: the server fails the resource after its grace period.
      }
      await socket.close(SPOOL_UPLOAD_DONE_REASON);
    }
    await this.#result.catch(() => undefined);
  }

  async #run(): Promise<SpoolUploadResult> {
    const { verifyMd5, sha256, verifyChecksum } = this.#settings;
    const crc32 = verifyChecksum ? new Crc32() : undefined;
    // In-thread: a worker thread (whose script bundlers cannot find) is not worth it for an option that is off by default.
    const md5Hash = verifyMd5 ? createHash('md5') : undefined;
    const sha256Hash = sha256 ? createHash('sha256') : undefined;
    // A read of the source survives a reconnect: it is awaited again on the next connection.
    let pendingNext: Promise<IteratorResult<Buffer>> | undefined;
    let digests: Digests | undefined;
    try {
      for (;;) {
        const socket = this.#socket;
        try {
          await this.#sendHeld(socket);
          if (digests) return await this.#finish(socket, digests);
          if (this.#held.size >= this.#settings.maxUnacknowledgedBytes) {
            await this.#waitForProgress(socket);
            continue;
          }
          pendingNext ??= this.#frames.next();
          const next = await this.#guard(socket, pendingNext, true);
          pendingNext = undefined;
          if (next.done) {
            digests = {
              ...(crc32 ? { crc32: crc32.hex() } : {}),
              ...(md5Hash ? { md5: md5Hash.digest('hex') } : {}),
              ...(sha256Hash ? { sha256: sha256Hash.digest('hex') } : {}),
            };
            continue;
          }
          const frame = next.value;
          // Held before any other wait: from here on a lost connection cannot lose it.
          this.#held.append(frame);
          crc32?.update(frame);
          md5Hash?.update(frame);
          sha256Hash?.update(frame);
        } catch (error) {
          if (!(error instanceof SpoolSocketEnded) || !error.end.retryable) throw error;
          // Lost: fall through to resume on a new connection.
          if ((await this.#reconnect(error.end.error)) === 'finished') return await this.#resultFromStatus(digests ?? {});
        }
      }
    } catch (error) {
      const failure = this.#cancel.signal.aborted ? (this.#cancel.signal.reason as SpoolError) : toError(error);
      this.#releaseSource(failure);
      if (this.#socket.open && !this.#cancel.signal.aborted) await this.#socket.close('Upload failed');
      throw failure;
    }
  }

  /** Waits for `promise` unless the connection ends (SpoolSocketEnded) or the upload is cancelled. */
  async #guard<T>(socket: UploadSocket, promise: Promise<T>, fromSource: boolean): Promise<T> {
    try {
      return await untilAborted(promise, socket.endSignal, this.#cancel.signal);
    } catch (error) {
      if (error instanceof SpoolSocketEnded || this.#cancel.signal.aborted || !fromSource) throw error;
      // The source failed: the resource cannot be completed, so it is failed on the server.
      const failure = sourceFailure(error);
      if (socket.open) {
        try {
          const aborted = socket.expect<SpoolAborted>('aborted', this.#settings.responseTimeoutMs);
          socket.send({ type: 'abort', reason: failure.message });
          await aborted;
        } catch {
          // Lost: the server fails it after its grace period.
        }
      }
      throw failure;
    }
  }

  /** Sends the held bytes from the current connection's offset on. */
  async #sendHeld(socket: UploadSocket): Promise<void> {
    while (this.#sentOffset < this.#held.end) {
      const frame = this.#held.sliceAt(this.#sentOffset, this.#settings.frameSize) as Buffer;
      await untilAborted(socket.sendBinary(frame), this.#cancel.signal);
      this.#sentOffset += frame.length;
      if (this.#sentOffset > this.#bytesSent) {
        this.#bytesSent = this.#sentOffset;
        this.#progressReporter.report(this.#bytesSent, this.#held.start);
      }
    }
  }

  async #waitForProgress(socket: UploadSocket): Promise<void> {
    await this.#guard(
      socket,
      new Promise<void>((resolve) => {
        this.#progress = resolve;
      }),
      false,
    );
  }

  #onMessage(socket: UploadSocket, message: SpoolUploadServerMessage): void {
    if (socket !== this.#socket || message.type !== 'durable') return;
    if (message.offset > this.#sentOffset) {
      void socket.fail(new ProtocolViolationError(`The server acknowledged ${message.offset} bytes; ${this.#sentOffset} were sent`));
      return;
    }
    this.#held.releaseUpTo(message.offset);
    this.#progressReporter.report(this.#bytesSent, this.#held.start);
    const progress = this.#progress;
    this.#progress = undefined;
    progress?.();
  }

  async #finish(socket: UploadSocket, digests: Digests): Promise<SpoolUploadResult> {
    const completed = socket.expect<SpoolCompleted>('completed', this.#settings.responseTimeoutMs);
    const expected = { ...(digests.crc32 ? { crc32: digests.crc32 } : {}), ...(digests.md5 ? { md5: digests.md5 } : {}) };
    socket.send({ type: 'finish', ...(Object.keys(expected).length > 0 ? { checksums: expected } : {}) });
    this.#finishSent = true;
    const message = await untilAborted(completed, this.#cancel.signal);
    await socket.close(SPOOL_UPLOAD_DONE_REASON);
    const checksums = message.checksums ? knownChecksums(message.checksums) : message.md5 ? { md5: message.md5 } : {};
    return this.#resultOf(message.size, checksums, message.lines, digests);
  }

  /**
   * The connection was lost after `finish` and the resource is terminal now: the finish
   * was processed. Its status (read over the resource path) says how it ended.
   */
  async #resultFromStatus(digests: Digests): Promise<SpoolUploadResult> {
    const url = resourceUrl(parseResourceLocation(this.reference.spoolUri), SPOOL_RESOURCE_PATH_PREFIX);
    let resolveStatus: (status: SpoolStatus) => void = () => undefined;
    const first = new Promise<SpoolStatus>((resolve) => {
      resolveStatus = resolve;
    });
    const socket = await SpoolSocket.open(url, RESOURCE_SERVER_MESSAGES, {
      ...this.#settings.socket,
      headers: withBearer(this.#settings.headers, this.reference.writeToken),
    }).catch(unwrapEnded);
    socket.attach({ message: (message) => message.type === 'status' && resolveStatus(message), binary: () => undefined });
    try {
      const status = fromSpoolStatus(this.reference.id, await socket.race(first).catch(unwrapEnded));
      if (status.state === 'FAILED') throw new UploadFailedError(status.id, status.error);
      if (status.state !== 'COMPLETED') throw new ResourceTerminalError(status.id, status.state);
      return this.#resultOf(status.size, status.checksums ?? (status.checksum ? { md5: status.checksum } : {}), status.lines, digests);
    } finally {
      await socket.close('Status read');
    }
  }

  #resultOf(size: number, checksums: Checksums, lines: number | null, digests: Digests): SpoolUploadResult {
    if (size !== this.#held.end) {
      throw new ProtocolViolationError(`The server stored ${size} bytes, ${this.#held.end} were sent`, {
        stored: size,
        sent: this.#held.end,
      });
    }
    // The server verified them at finish; checked again here so that no trust in it is needed.
    for (const algorithm of ['crc32', 'md5'] as const) {
      const mine = digests[algorithm];
      const theirs = checksums[algorithm];
      if (mine !== undefined && mine !== theirs?.toLowerCase()) throw new ChecksumMismatchError(mine, theirs ?? '(none)');
    }
    this.#progressReporter.report(size, size);
    return {
      reference: this.reference,
      size,
      checksum: checksums.md5 ?? '',
      checksums,
      lines,
      ...(digests.sha256 ? { sha256: digests.sha256 } : {}),
      reconnects: this.#reconnects,
    };
  }

  /**
   * Re-establishes the upload after `lost`: resume with backoff until the server says
   * where to continue. Refusals other than a writer still attached (our previous
   * connection, not yet noticed gone by the server) end the upload.
   */
  #reconnect(lost: SpoolError): Promise<'resumed' | 'finished'> {
    const id = this.reference.id;
    return reconnectWithBackoff({
      policy: this.#settings.reconnect,
      lost,
      signal: this.#cancel.signal,
      attempt: () => this.#resume(),
      mayRetry: (end) => end.retryable || end.error.code === ErrorCode.WRITER_CONFLICT,
      gaveUp: (lastError, attempts) =>
        new ConnectionClosedError(
          `Upload of ${id} lost its connection and could not resume after ${attempts} attempts: ${lastError.message}`,
          {
            resourceId: id,
            attempts,
            lastError: lastError.code,
            ...(lastError.details ?? {}),
          },
        ),
    });
  }

  /** One attempt to resume: a new connection, `resume`, and the held bytes from the offset the server names. */
  async #resume(): Promise<'resumed' | 'finished'> {
    let socket: UploadSocket | undefined;
    try {
      const opened = await SpoolSocket.open<SpoolUploadServerMessage>(this.#settings.uploadUrl, UPLOAD_SERVER_MESSAGES, {
        ...this.#settings.socket,
        headers: withBearer(this.#settings.headers, this.reference.writeToken),
      });
      opened.attach({ message: (message) => this.#onMessage(opened, message), binary: () => undefined });
      socket = opened;
      const ready = opened.expect<SpoolReady>('ready', this.#settings.responseTimeoutMs);
      const checksums = requestedChecksums(this.#settings);
      opened.send({ type: 'resume', id: this.reference.id, ...(checksums ? { checksums } : {}) });
      const { offset } = await untilAborted(ready, this.#cancel.signal);
      if (offset < this.#held.start || offset > this.#held.end) {
        // Below: the server lost bytes it had acknowledged (machine crash without sync). Above: not ours.
        throw new OffsetMismatchError(this.reference.id, offset, this.#held.start);
      }
      this.#held.releaseUpTo(offset);
      this.#socket = opened;
      this.#sentOffset = offset;
      this.#reconnects++;
      return 'resumed';
    } catch (error) {
      if (!(error instanceof SpoolSocketEnded)) {
        await socket?.close('Upload failed');
        throw error;
      }
      // Lost after `finish`, and the server had processed it: the status says how it ended.
      if (this.#finishSent && error.end.error.code === ErrorCode.RESOURCE_TERMINAL) return 'finished';
      throw error;
    }
  }

  /** A failure or cancel must also release a source we may be waiting on (a growing file idling on a poll). */
  #releaseSource(reason: unknown): void {
    releaseUploadSource(this.#source, reason);
    this.#frames.return?.().catch(() => undefined);
  }
}

function toError(error: unknown): SpoolError {
  if (error instanceof SpoolSocketEnded) return error.end.error;
  if (error instanceof SpoolError) return error;
  return sourceFailure(error);
}
