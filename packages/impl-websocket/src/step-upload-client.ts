import type { IncomingMessage } from 'node:http';
import {
  ProgressReporter,
  prepareUpload,
  type Upload,
  type UploadClient,
  type UploadRequest,
  type UploadSource,
} from '@spool/client-upload';
import {
  CloseCode,
  InvalidMetadataError,
  ProtocolViolationError,
  resourceIdFromStepUri,
  STEP_SERVER_CHECKSUM_HEADER,
  STEP_SERVER_CHECKSUM_VALUE,
} from '@spool/common';
import { startAbortable } from './abortable.js';
import { type ResolvedUploadClientOptions, resolveUploadClientOptions, type WebSocketUploadClientOptions } from './client-options.js';
import { ClientCloseCode } from './close-errors.js';
import { httpContentUri } from './resource-location.js';
import { StepUpload } from './step-upload.js';
import { StepUploadConnection } from './step-upload-connection.js';
import { stepUploadUrl } from './step-urls.js';
import { closeWebSocket, connectWebSocket } from './web-socket-connection.js';

export interface StepUploadClientOptions extends WebSocketUploadClientOptions {
  /** Upload context (`streamingUploadContextId`), when the server requires one. */
  contextId?: string;
  /** Largest data frame sent (default 1 MiB); also the read size for file sources. */
  frameSize?: number;
  /** Bytes queued on the socket before the upload waits for it to drain (default 4 MiB). */
  highWaterMark?: number;
  /**
   * Hash (MD5) on the client and have the server verify it (default false). A Spool
   * server hashes every byte itself and says so when the connection opens, so by default
   * the client skips the work (the result still carries the server's MD5); a server that
   * does not say so (a Java Step server) always gets the client's MD5, as its protocol needs.
   */
  verifyMd5?: boolean;
}

/** Large frames: the per-frame costs (a masked copy and a send in `ws`, a promise here) were a third of the client's CPU at 256 KiB. */
const DEFAULT_FRAME_SIZE = 1024 * 1024;
/** A few frames in flight, so the socket never waits for the next one. */
const DEFAULT_HIGH_WATER_MARK = 4 * 1024 * 1024;

/**
 * Uploads over the Step-compatible WebSocket protocol; works with Spool servers and the
 * Java Step server alike.
 *
 * @example
 * const client = new StepUploadClient({ url: 'ws://localhost:8080' });
 * const log = growingFile('build.log');
 * const upload = await client.upload(log, { mimeType: 'text/plain' });
 * console.log('follow at', upload.reference.uri);
 * // ... when the build is done:
 * const { size, lines } = await upload.complete();
 */
export class StepUploadClient implements UploadClient {
  /** The upload endpoint used. */
  readonly url: URL;
  readonly #options: ResolvedUploadClientOptions;

  constructor(options: StepUploadClientOptions) {
    this.url = stepUploadUrl(options.url, options.contextId);
    this.#options = resolveUploadClientOptions(options, { frameSize: DEFAULT_FRAME_SIZE, highWaterMark: DEFAULT_HIGH_WATER_MARK });
  }

  /**
   * Starts an upload: validates the request, connects, sends StartUpload and resolves
   * on ReadyForUpload with an {@link Upload} whose `reference` readers can open at once.
   * The data then streams in the background; finish with `upload.complete()`.
   * @throws InvalidMetadataError for a bad filename, MIME type or charset (before connecting), or a `name`:
   *   the Step protocol cannot carry one (use `SpoolUploadClient`).
   * @throws ConnectionClosedError, ContextRequiredError, QuotaExceededError, TimeoutError… if the server refuses.
   * @throws UploadAbortedError if `request.signal` aborts first.
   */
  upload(source: UploadSource, request: UploadRequest = {}): Promise<StepUpload> {
    if (request.name !== undefined) {
      return Promise.reject(
        new InvalidMetadataError('The Step protocol cannot carry a resource name: upload named resources with SpoolUploadClient', {
          name: request.name,
        }),
      );
    }
    return startAbortable(request.signal, () => this.#start(source, request));
  }

  async #start(source: UploadSource, request: UploadRequest): Promise<StepUpload> {
    const options = this.#options;
    const { metadata, frames, totalBytes } = await prepareUpload(source, request, options.frameSize);

    let serverHashes = false;
    const ws = await connectWebSocket(this.url, { handshakeTimeoutMs: options.connectTimeoutMs, headers: options.headers }, (socket) =>
      socket.once('upgrade', (response: IncomingMessage) => {
        serverHashes = response.headers[STEP_SERVER_CHECKSUM_HEADER.toLowerCase()] === STEP_SERVER_CHECKSUM_VALUE;
      }),
    );
    const connection = new StepUploadConnection(ws, {
      highWaterMark: options.highWaterMark,
      keepAliveIntervalMs: options.keepAliveIntervalMs,
    });
    try {
      const ready = connection.expect('ReadyForUpload', options.responseTimeoutMs);
      connection.send({ '@': 'StartUpload', metadata });
      const { reference } = await ready;
      let id: string;
      try {
        id = resourceIdFromStepUri(reference.uri);
      } catch {
        throw connection.fail(
          new ProtocolViolationError(`ReadyForUpload carries no usable download URI: ${reference.uri}`, { uri: reference.uri }),
          CloseCode.PROTOCOL_ERROR,
          'Invalid reference',
        );
      }
      const hashOnClient = options.verifyMd5 || !serverHashes;
      // A server that says it hashes is a Spool server, which also serves the resource over HTTP.
      const httpUri = serverHashes ? httpContentUri(reference.uri) : undefined;
      return new StepUpload(connection, { uri: reference.uri, id, ...(httpUri ? { httpUri } : {}) }, source, frames, {
        responseTimeoutMs: options.responseTimeoutMs,
        hashOnClient,
        progress: new ProgressReporter(request.onProgress, totalBytes),
      });
    } catch (error) {
      await closeWebSocket(ws, ClientCloseCode.CANCELLED, 'Upload not started');
      throw error;
    }
  }
}
