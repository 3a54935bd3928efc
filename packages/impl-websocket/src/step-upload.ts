import { createHash } from 'node:crypto';
import {
  isCompletableSource,
  ProgressReporter,
  releaseUploadSource,
  sourceFailure,
  type Upload,
  type UploadReference,
  type UploadResult,
  type UploadSource,
} from '@spool/client-upload';
import { ChecksumMismatchError, ProtocolViolationError, UploadAbortedError } from '@spool/common';
import { untilAborted } from './abortable.js';
import { ClientCloseCode } from './close-errors.js';
import type { StepUploadConnection } from './step-upload-connection.js';

const END_OF_DATA = Buffer.alloc(0);

export interface StepUploadOptions {
  /** How long to wait for UploadAcknowledged. */
  responseTimeoutMs: number;
  /** Hash on the client and send the MD5 for the server to verify; else an empty checksum (Spool servers only). */
  hashOnClient: boolean;
  /** Tells `onProgress` how far it is (none: nobody listens). */
  progress?: ProgressReporter;
}

/**
 * A Step upload accepted by the server (ReadyForUpload received): streams the frames in
 * the background as one fragmented binary message ending with an empty FIN frame (none
 * at all for zero bytes), then FinishUpload with the MD5 (empty when the server hashes
 * and the client was not asked to verify), waits for UploadAcknowledged
 * and closes with 1000 "Upload completed". Created by `StepUploadClient.upload()`.
 */
export class StepUpload implements Upload {
  readonly reference: UploadReference;
  readonly #connection: StepUploadConnection;
  readonly #source: UploadSource;
  readonly #responseTimeoutMs: number;
  readonly #hashOnClient: boolean;
  readonly #result: Promise<UploadResult>;
  readonly #progress: ProgressReporter;
  #bytesSent = 0;

  constructor(
    connection: StepUploadConnection,
    reference: UploadReference,
    source: UploadSource,
    frames: AsyncIterable<Buffer>,
    options: StepUploadOptions,
  ) {
    this.#connection = connection;
    this.reference = reference;
    this.#source = source;
    this.#responseTimeoutMs = options.responseTimeoutMs;
    this.#hashOnClient = options.hashOnClient;
    this.#progress = options.progress ?? new ProgressReporter(undefined, undefined);
    // A failure (server close, cancel, timeout) must also release a source we may be
    // waiting on: a growing file idling on a poll, a stream that has stalled.
    connection.failed.catch((error: unknown) => releaseUploadSource(source, error));
    this.#result = this.#run(frames);
    // Reported through complete(); not an unhandled rejection if nobody asks.
    this.#result.catch(() => undefined);
  }

  get bytesSent(): number {
    return this.#bytesSent;
  }

  /** Resolves once the upload ended, whichever way (never rejects; `complete()` tells how). */
  get settled(): Promise<void> {
    return this.#result.then(
      () => undefined,
      () => undefined,
    );
  }

  complete(): Promise<UploadResult> {
    if (isCompletableSource(this.#source)) this.#source.complete();
    return this.#result;
  }

  async cancel(reason = 'Upload cancelled'): Promise<void> {
    if (this.#connection.acknowledged || this.#connection.failure) return this.#connection.closed;
    this.#connection.fail(new UploadAbortedError(`Upload cancelled: ${reason}`, { reason }), ClientCloseCode.CANCELLED, reason);
    await this.#connection.closed;
    await this.#result.catch(() => undefined);
  }

  async #run(frames: AsyncIterable<Buffer>): Promise<UploadResult> {
    const connection = this.#connection;
    const iterator = frames[Symbol.asyncIterator]();
    let sourceEnded = false;
    // In-thread, so the SDK needs no worker script (bundlers cannot find one). Only Java Step servers and `verifyMd5` need it.
    const md5 = this.#hashOnClient ? createHash('md5') : undefined;
    try {
      for (;;) {
        const next = await this.#nextFrame(iterator);
        if (next.done) {
          sourceEnded = true;
          break;
        }
        const frame = next.value;
        if (frame.length === 0) continue;
        md5?.update(frame);
        await connection.sendFrame(frame, false);
        this.#bytesSent += frame.length;
        // Step acknowledges nothing before the end.
        this.#progress.report(this.#bytesSent, 0);
      }
      // Like the Java client: an empty FIN frame ends the message; zero bytes → no message.
      if (this.#bytesSent > 0) await connection.sendFrame(END_OF_DATA, true);
      // Empty when not hashed here: the server announced it hashes, and its MD5 is the result's.
      const checksum = md5 ? md5.digest('hex') : '';
      const acknowledgement = connection.expect('UploadAcknowledged', this.#responseTimeoutMs);
      connection.send({ '@': 'FinishUpload', checksum });
      const ack = await acknowledgement;
      await connection.closeCompleted();
      if (md5 && ack.checksum.toLowerCase() !== checksum) throw new ChecksumMismatchError(checksum, ack.checksum);
      if (ack.size !== this.#bytesSent) {
        throw new ProtocolViolationError(`The server acknowledged ${ack.size} bytes, ${this.#bytesSent} were sent`, {
          acknowledged: ack.size,
          sent: this.#bytesSent,
        });
      }
      this.#progress.report(ack.size, ack.size);
      return {
        reference: this.reference,
        size: ack.size,
        checksum: ack.checksum.toLowerCase(),
        lines: ack.numberOfLines ?? ack.numberOflines ?? null,
      };
    } finally {
      // Closes files and streams; a pending read is released by source.abort() (see constructor).
      if (!sourceEnded) iterator.return?.().catch(() => undefined);
    }
  }

  /** The next frame, unless the upload fails first; a source error fails the upload. */
  async #nextFrame(iterator: AsyncIterator<Buffer>): Promise<IteratorResult<Buffer>> {
    const connection = this.#connection;
    try {
      return await untilAborted(iterator.next(), connection.failedSignal);
    } catch (error) {
      if (connection.failure) throw connection.failure;
      const failure = sourceFailure(error);
      throw connection.fail(failure, ClientCloseCode.SOURCE_FAILED, `Upload source failed: ${failure.message}`);
    }
  }
}
