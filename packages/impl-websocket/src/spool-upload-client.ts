import {
  readUploadSource,
  resolveUploadMetadata,
  splitIntoFrames,
  transcodeToUtf8,
  type UploadClient,
  type UploadRequest,
  type UploadSource,
} from '@spool/client-upload';
import { type ReconnectOptions, resolveReconnectOptions } from '@spool/common';
import { SpoolUpload, type SpoolUploadSettings } from './spool-upload.js';
import { spoolUploadUrl } from './spool-urls.js';

export interface SpoolUploadClientOptions {
  /** Server base URL (`ws://host:port`, `http://host:port`, optionally with a path prefix); `/ws/spool/v1/upload` is appended. */
  url: string | URL;
  /** Upload context the resource belongs to (groups uploads; some servers require one). */
  contextId?: string;
  /** Largest binary message sent (default 256 KiB); also the read size for file sources. */
  frameSize?: number;
  /** Bytes queued on the socket before the upload waits for it to drain (default 1 MiB). */
  highWaterMark?: number;
  /**
   * Most bytes kept in memory until the server says they are durable (default 64 MiB):
   * the source is read only while there is room. Must be at least `frameSize`.
   */
  maxUnacknowledgedBytes?: number;
  /**
   * Hash the bytes with MD5 on the client and have the server verify it at `finish`
   * (default false: the server computes the MD5 of every byte anyway and returns it, and
   * hashing here would take a core from the upload; TCP already checks the bytes on the way).
   */
  verifyMd5?: boolean;
  /** Also compute a SHA-256 of the source on the client, reported as `result.sha256` (default false). */
  sha256?: boolean;
  /** Reconnecting after a lost connection (backoff, bounds). */
  reconnect?: ReconnectOptions;
  /** Opening handshake timeout (default 10 s). */
  connectTimeoutMs?: number;
  /** How long to wait for `ready` / `completed` (default 60 s). */
  responseTimeoutMs?: number;
  /** Ping interval for dead-server detection (default 30 s; 0 disables). */
  keepAliveIntervalMs?: number;
  /** Extra HTTP headers for the upgrade request (e.g. `authorization: Bearer <uploader token>`). */
  headers?: Record<string, string>;
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
 * const upload = await client.upload(growingFile('build.log'), { mimeType: 'text/plain' });
 * console.log('follow at', upload.reference.uri);
 * const { size, md5 } = await upload.complete();
 */
export class SpoolUploadClient implements UploadClient {
  /** The upload endpoint used. */
  readonly url: URL;
  readonly #contextId: string | undefined;
  readonly #settings: SpoolUploadSettings;

  constructor(options: SpoolUploadClientOptions) {
    this.url = spoolUploadUrl(options.url);
    this.#contextId = options.contextId;
    const frameSize = positiveInteger('frameSize', options.frameSize ?? DEFAULT_FRAME_SIZE);
    const maxUnacknowledgedBytes = positiveInteger(
      'maxUnacknowledgedBytes',
      options.maxUnacknowledgedBytes ?? DEFAULT_MAX_UNACKNOWLEDGED_BYTES,
    );
    if (maxUnacknowledgedBytes < frameSize) throw new RangeError('maxUnacknowledgedBytes must be at least frameSize');
    const reconnect = resolveReconnectOptions(options.reconnect);
    this.#settings = {
      uploadUrl: this.url,
      headers: options.headers,
      socket: {
        connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
        keepAliveIntervalMs: options.keepAliveIntervalMs ?? 30_000,
        highWaterMark: positiveInteger('highWaterMark', options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK),
        retryOnServerShutdown: reconnect.retryOnServerShutdown,
      },
      frameSize,
      maxUnacknowledgedBytes,
      responseTimeoutMs: options.responseTimeoutMs ?? 60_000,
      reconnect,
      verifyMd5: options.verifyMd5 ?? false,
      sha256: options.sha256 ?? false,
    };
  }

  /**
   * Starts an upload: validates the request, connects, sends `create` and resolves on
   * `ready` with a {@link SpoolUpload} whose `reference` readers can open at once. The
   * data then streams in the background; finish with `upload.complete()`. The first
   * connection is not retried (a create cannot be repeated safely); later losses are.
   * @throws InvalidMetadataError for a bad filename, MIME type or charset (before connecting).
   * @throws UnauthorizedError, ForbiddenError, ContextRequiredError, ConnectionClosedError, TimeoutError… if the server refuses.
   */
  async upload(source: UploadSource, request: UploadRequest = {}): Promise<SpoolUpload> {
    const metadata = resolveUploadMetadata(source, request);
    const frameSize = this.#settings.frameSize;
    const bytes = readUploadSource(source, { chunkBytes: frameSize });
    const utf8 = request.sourceCharset === undefined ? bytes : transcodeToUtf8(bytes, request.sourceCharset);
    return SpoolUpload.start(this.#settings, source, splitIntoFrames(utf8, frameSize), { metadata, contextId: this.#contextId });
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
