import { DEFAULT_MAX_CHUNK_BYTES, type DownloadClient, locationUri, type ResourceLocation } from '@spool/client-download';
import { type ReconnectOptions, resolveReconnectOptions } from '@spool/common';
import { SpoolRemoteResource } from './spool-remote-resource.js';
import { SpoolResourceConnection, type SpoolResourceConnectionOptions } from './spool-resource-connection.js';
import { spoolResourceLocation } from './spool-urls.js';

export interface SpoolDownloadClientOptions {
  /** Largest byte range requested in one message (default 4 MiB). */
  maxChunkBytes?: number;
  /** Chunk requests `createReadStream()` (and, on Step, `follow()`) keep outstanding (default 3). */
  readAheadChunks?: number;
  /** Largest number of lines requested in one message (default 10,000). */
  maxLinesPerRequest?: number;
  /** Bytes a follower holds for a slow consumer before its socket is paused (default 4 MiB). */
  followBufferBytes?: number;
  /** Largest message accepted from the server (default: 64 MiB or twice `maxChunkBytes`, whichever is larger). */
  maxMessageBytes?: number;
  /** Reconnecting after a lost connection (backoff, bounds). */
  reconnect?: ReconnectOptions;
  /** Opening handshake timeout (default 10 s). */
  connectTimeoutMs?: number;
  /** How long `open()` waits for the first status (default 30 s). */
  openTimeoutMs?: number;
  /** Ping interval for dead-server detection (default 30 s; 0 disables). */
  keepAliveIntervalMs?: number;
  /** Extra HTTP headers for the upgrade request (e.g. `authorization: Bearer <reader token>`). */
  headers?: Record<string, string>;
}

const MIN_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * Opens resources over Spool's own WebSocket protocol: live push to followers (no
 * polling), reads on the same connection, reconnection with exactly-once delivery.
 * Accepts Spool resource URIs and Step download URIs (`…/ws/streaming/download/<id>`,
 * what `upload.reference.uri` is), mapping the latter to the Spool path of the same server.
 *
 * @example
 * const resource = await new SpoolDownloadClient().open(upload.reference);
 * for await (const line of resource.followLines()) process.stdout.write(line);
 * await resource.close();
 */
export class SpoolDownloadClient implements DownloadClient {
  readonly #options: SpoolDownloadClientOptions;

  constructor(options: SpoolDownloadClientOptions = {}) {
    this.#options = options;
  }

  /**
   * Connects to the resource and resolves once its first status arrived.
   * @throws ResourceNotFoundError for an unknown resource; UnauthorizedError / ForbiddenError without a fitting token.
   * @throws ConnectionClosedError, TimeoutError.
   * @throws TypeError if `location` is not a resource URI.
   */
  async open(location: ResourceLocation): Promise<SpoolRemoteResource> {
    const options = this.#options;
    const { url, id } = spoolResourceLocation(locationUri(location));
    const maxChunkBytes = options.maxChunkBytes ?? DEFAULT_MAX_CHUNK_BYTES;
    const reconnect = resolveReconnectOptions(options.reconnect);
    const connectionOptions: SpoolResourceConnectionOptions = {
      socket: {
        connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
        keepAliveIntervalMs: options.keepAliveIntervalMs ?? 30_000,
        // Replies are single messages: room for the largest range asked for.
        maxPayload: options.maxMessageBytes ?? Math.max(MIN_MAX_MESSAGE_BYTES, 2 * maxChunkBytes),
        headers: options.headers,
        retryOnServerShutdown: reconnect.retryOnServerShutdown,
      },
      reconnect,
    };
    const connect = () => SpoolResourceConnection.connect(url, id, connectionOptions);
    const connection = await connect();
    try {
      await connection.firstStatus(options.openTimeoutMs ?? 30_000);
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
    return new SpoolRemoteResource(connection, connect, {
      maxChunkBytes,
      ...(options.maxLinesPerRequest === undefined ? {} : { maxLinesPerRequest: options.maxLinesPerRequest }),
      ...(options.readAheadChunks === undefined ? {} : { readAheadChunks: options.readAheadChunks }),
      ...(options.followBufferBytes === undefined ? {} : { followBufferBytes: options.followBufferBytes }),
    });
  }
}
