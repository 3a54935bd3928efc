import type { DownloadClient, OpenOptions, ResourceLocation } from '@spool/client-download';
import { type ReconnectOptions, resolveReconnectOptions, SPOOL_RESOURCE_PATH_PREFIX } from '@spool/common';
import { openAbortable } from './abortable.js';
import { resolveDownloadClientOptions, type WebSocketDownloadClientOptions } from './client-options.js';
import { parseResourceLocation, resourceUrl } from './resource-location.js';
import { SpoolRemoteResource } from './spool-remote-resource.js';
import { SpoolResourceConnection, type SpoolResourceConnectionOptions } from './spool-resource-connection.js';

export interface SpoolDownloadClientOptions extends WebSocketDownloadClientOptions {
  /** Bytes a follower holds for a slow consumer before its socket is paused (default 4 MiB). */
  followBufferBytes?: number;
  /** Reconnecting after a lost connection (backoff, bounds). */
  reconnect?: ReconnectOptions;
}

/**
 * Opens resources over Spool's own WebSocket protocol: live push to followers (no
 * polling), reads on the same connection, reconnection with exactly-once delivery.
 * Takes any URI of a resource — Spool's, Step's (`…/ws/streaming/download/<id>`, what
 * `upload.reference.uri` is), the HTTP link (`…/api/v1/resources/<id>/content`,
 * `…/api/v1/names/<name>`) — mapped to the Spool path of the same server; or, with the
 * `url` option, its id or name.
 *
 * @example
 * const downloads = new SpoolDownloadClient({ url: 'http://127.0.0.1:8080' });
 * const resource = await downloads.open('ci/1234/build.log');
 * for await (const line of resource.followLines({ tail: 100 })) console.log(line);
 * await resource.close();
 */
export class SpoolDownloadClient implements DownloadClient {
  readonly #options: SpoolDownloadClientOptions;

  constructor(options: SpoolDownloadClientOptions = {}) {
    this.#options = options;
  }

  /**
   * Connects to the resource and resolves once its first status arrived. Opened by name,
   * it stays on the resource the name had then (reconnects go by its id).
   * @throws ResourceNotFoundError for an unknown resource; UnauthorizedError / ForbiddenError without a fitting token.
   * @throws ConnectionClosedError, TimeoutError; the signal's reason if `options.signal` aborts first.
   * @throws InvalidMetadataError if `location` is no resource URI (or an id or name without the `url` option).
   */
  async open(location: ResourceLocation, options: OpenOptions = {}): Promise<SpoolRemoteResource> {
    const parsed = parseResourceLocation(location, this.#options.url);
    const urlOf = (ref: string) => resourceUrl({ server: parsed.server, ref }, SPOOL_RESOURCE_PATH_PREFIX);
    return openAbortable(this.#open(urlOf, parsed.ref), options.signal);
  }

  async #open(urlOf: (ref: string) => URL, ref: string): Promise<SpoolRemoteResource> {
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
    const connection = await SpoolResourceConnection.connect(urlOf, ref, connectionOptions);
    try {
      await connection.firstStatus(options.openTimeoutMs);
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
    // More connections (a second follower) go by the id the first status told.
    const connect = () => SpoolResourceConnection.connect(urlOf, connection.resourceId, connectionOptions);
    return new SpoolRemoteResource(connection, connect, {
      ...options.resource,
      ...(followBufferBytes === undefined ? {} : { followBufferBytes }),
    });
  }
}
