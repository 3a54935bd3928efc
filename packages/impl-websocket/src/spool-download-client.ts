import { type DownloadClient, locationUri, type ResourceLocation } from '@spool/client-download';
import { type ReconnectOptions, resolveReconnectOptions } from '@spool/common';
import { resolveDownloadClientOptions, type WebSocketDownloadClientOptions } from './client-options.js';
import { SpoolRemoteResource } from './spool-remote-resource.js';
import { SpoolResourceConnection, type SpoolResourceConnectionOptions } from './spool-resource-connection.js';
import { spoolResourceLocation } from './spool-urls.js';

export interface SpoolDownloadClientOptions extends WebSocketDownloadClientOptions {
  /** Bytes a follower holds for a slow consumer before its socket is paused (default 4 MiB). */
  followBufferBytes?: number;
  /** Reconnecting after a lost connection (backoff, bounds). */
  reconnect?: ReconnectOptions;
}

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
    const { url, id } = spoolResourceLocation(locationUri(location));
    const options = resolveDownloadClientOptions(this.#options);
    const { followBufferBytes } = this.#options;
    const reconnect = resolveReconnectOptions(this.#options.reconnect);
    const connectionOptions: SpoolResourceConnectionOptions = {
      socket: {
        connectTimeoutMs: options.connectTimeoutMs,
        keepAliveIntervalMs: options.keepAliveIntervalMs,
        maxPayload: options.maxMessageBytes,
        headers: options.headers,
        retryOnServerShutdown: reconnect.retryOnServerShutdown,
      },
      reconnect,
    };
    const connect = () => SpoolResourceConnection.connect(url, id, connectionOptions);
    const connection = await connect();
    try {
      await connection.firstStatus(options.openTimeoutMs);
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
    return new SpoolRemoteResource(connection, connect, {
      ...options.resource,
      ...(followBufferBytes === undefined ? {} : { followBufferBytes }),
    });
  }
}
