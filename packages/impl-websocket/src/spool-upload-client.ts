import { ProgressReporter, prepareUpload, type UploadClient, type UploadRequest, type UploadSource } from '@spool/client-upload';
import { type ChecksumAlgorithm, type ReconnectOptions, resolveReconnectOptions } from '@spool/common';
import { startAbortable } from './abortable.js';
import { positiveInteger, resolveUploadClientOptions, type WebSocketUploadClientOptions } from './client-options.js';
import { SpoolUpload, type SpoolUploadSettings } from './spool-upload.js';
import { spoolUploadUrl } from './spool-urls.js';

export interface SpoolUploadClientOptions extends WebSocketUploadClientOptions {
  /** Largest binary message sent (default 256 KiB); also the read size for file sources. */
  frameSize?: number;
  /** Bytes queued on the socket before the upload waits for it to drain (default 1 MiB). */
  highWaterMark?: number;
  /**
   * Most bytes kept in memory until the server says they are durable (default 64 MiB):
   * the source is read only while there is room. Must be at least `frameSize`.
   */
  maxUnacknowledgedBytes?: number;
  /** Also compute a SHA-256 of the source on the client, reported as `result.sha256` (default false). */
  sha256?: boolean;
  /**
   * Compute a CRC-32 of the bytes as they are sent and have the server verify it at
   * `finish` (default true): end-to-end integrity at a few GiB/s, no trust in the server
   * needed — a mismatch fails the resource and the upload (CHECKSUM_MISMATCH).
   */
  verifyChecksum?: boolean;
  /**
   * The checksums the server computes as bytes arrive and keeps with the resource
   * (`crc32`, `md5`, `sha256`; default: the server's setting, crc32 unless changed);
   * `verifyChecksum` adds crc32 and `verifyMd5` md5. A checksum verified at the end that
   * the server did not compute as bytes arrived, it computes then from the stored bytes
   * (one read of the resource): with `verifyMd5`, also list `md5` here.
   */
  checksums?: readonly ChecksumAlgorithm[];
  /** Reconnecting after a lost connection (backoff, bounds). */
  reconnect?: ReconnectOptions;
}

const DEFAULT_FRAME_SIZE = 256 * 1024;
const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;
const DEFAULT_MAX_UNACKNOWLEDGED_BYTES = 64 * 1024 * 1024;

/**
 * Uploads over Spool's own WebSocket protocol: resumable (survives dropped connections
 * and server restarts without a byte missing or repeated), with the durable offset
 * acknowledged as the server checkpoints. Needs a Spool server; for the Java Step server
 * use `StepUploadClient`.
 *
 * @example
 * const client = new SpoolUploadClient({ url: 'ws://localhost:8080' });
 * const upload = await client.upload(growingFile('build.log'), { name: 'ci/1234/build.log' });
 * console.log('follow at', upload.reference.httpUri);
 * const { size, checksum } = await upload.complete();
 */
export class SpoolUploadClient implements UploadClient {
  /** The upload endpoint used. */
  readonly url: URL;
  readonly #contextId: string | undefined;
  readonly #settings: SpoolUploadSettings;

  constructor(options: SpoolUploadClientOptions) {
    this.url = spoolUploadUrl(options.url);
    this.#contextId = options.contextId;
    const common = resolveUploadClientOptions(options, { frameSize: DEFAULT_FRAME_SIZE, highWaterMark: DEFAULT_HIGH_WATER_MARK });
    const maxUnacknowledgedBytes = positiveInteger(
      'maxUnacknowledgedBytes',
      options.maxUnacknowledgedBytes ?? DEFAULT_MAX_UNACKNOWLEDGED_BYTES,
    );
    if (maxUnacknowledgedBytes < common.frameSize) throw new RangeError('maxUnacknowledgedBytes must be at least frameSize');
    const reconnect = resolveReconnectOptions(options.reconnect);
    this.#settings = {
      uploadUrl: this.url,
      headers: common.headers,
      socket: {
        connectTimeoutMs: common.connectTimeoutMs,
        keepAliveIntervalMs: common.keepAliveIntervalMs,
        highWaterMark: common.highWaterMark,
        retryOnServerShutdown: reconnect.retryOnServerShutdown,
      },
      frameSize: common.frameSize,
      maxUnacknowledgedBytes,
      responseTimeoutMs: common.responseTimeoutMs,
      reconnect,
      verifyMd5: common.verifyMd5,
      sha256: options.sha256 ?? false,
      verifyChecksum: options.verifyChecksum ?? true,
      ...(options.checksums ? { checksums: options.checksums } : {}),
    };
  }

  /**
   * Starts an upload: validates the request, connects, sends `create` and resolves on
   * `ready` with a {@link SpoolUpload} whose `reference` readers can open at once (by
   * its id, its `name` if it has one, or its HTTP link). The data then streams in the
   * background; finish with `upload.complete()`. The first connection is not retried (a
   * create cannot be repeated safely); later losses are. A type nothing tells is decided
   * by the source's first bytes, so such an upload starts once the source has some.
   * @throws InvalidMetadataError for a bad filename, name, MIME type or charset (before connecting).
   * @throws NameTakenError if a live resource holds the name.
   * @throws UnauthorizedError, ForbiddenError, ContextRequiredError, ConnectionClosedError, TimeoutError… if the server refuses.
   * @throws UploadAbortedError if `request.signal` aborts first.
   */
  upload(source: UploadSource, request: UploadRequest = {}): Promise<SpoolUpload> {
    return startAbortable(request.signal, async () => {
      const { metadata, frames, totalBytes } = await prepareUpload(source, request, this.#settings.frameSize);
      const progress = new ProgressReporter(request.onProgress, totalBytes);
      return SpoolUpload.start(this.#settings, source, frames, { metadata, contextId: this.#contextId, name: request.name }, progress);
    });
  }
}
