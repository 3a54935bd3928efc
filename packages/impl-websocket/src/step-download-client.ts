import { DEFAULT_MAX_CHUNK_BYTES, type DownloadClient, locationUri, RemoteResource, type ResourceLocation } from '@spool/client-download';
import { StepDownloadTransport } from './step-download-transport.js';

export interface StepDownloadClientOptions {
  /** Largest byte range requested in one message (default 4 MiB). */
  maxChunkBytes?: number;
  /** Chunk requests `createReadStream()` (and, on Step, `follow()`) keep outstanding (default 3). */
  readAheadChunks?: number;
  /** Largest number of lines requested in one message (default 10,000). */
  maxLinesPerRequest?: number;
  /** Largest message accepted from the server (default: 64 MiB or twice `maxChunkBytes`, whichever is larger). */
  maxMessageBytes?: number;
  /** Opening handshake timeout (default 10 s). */
  connectTimeoutMs?: number;
  /** How long `open()` waits for the first status (default 30 s). */
  openTimeoutMs?: number;
  /** Ping interval for dead-server detection (default 30 s; 0 disables). */
  keepAliveIntervalMs?: number;
  /** Extra HTTP headers for the upgrade request (e.g. authentication). */
  headers?: Record<string, string>;
}

const MIN_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * Opens resources over the Step-compatible WebSocket protocol; works with Spool servers
 * and the Java Step server alike.
 *
 * @example
 * const resource = await new StepDownloadClient().open(upload.reference);
 * for await (const line of resource.followLines()) process.stdout.write(line);
 * await resource.close();
 */
export class StepDownloadClient implements DownloadClient {
  readonly #options: StepDownloadClientOptions;

  constructor(options: StepDownloadClientOptions = {}) {
    this.#options = options;
  }

  /**
   * Connects to the resource's download URI and resolves once its first status arrived.
   * @throws ResourceNotFoundError for an unknown resource (close 1008 "Unknown resource …" or HTTP 404).
   * @throws ConnectionClosedError, TimeoutError.
   */
  async open(location: ResourceLocation): Promise<RemoteResource> {
    const options = this.#options;
    const maxChunkBytes = options.maxChunkBytes ?? DEFAULT_MAX_CHUNK_BYTES;
    const transport = await StepDownloadTransport.connect(locationUri(location), {
      // Replies are single messages, never split: room for the largest chunk we ask for.
      maxMessageBytes: options.maxMessageBytes ?? Math.max(MIN_MAX_MESSAGE_BYTES, 2 * maxChunkBytes),
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      keepAliveIntervalMs: options.keepAliveIntervalMs ?? 30_000,
      ...(options.headers ? { headers: options.headers } : {}),
    });
    return RemoteResource.open(transport, {
      maxChunkBytes,
      ...(options.maxLinesPerRequest === undefined ? {} : { maxLinesPerRequest: options.maxLinesPerRequest }),
      ...(options.readAheadChunks === undefined ? {} : { readAheadChunks: options.readAheadChunks }),
      ...(options.openTimeoutMs === undefined ? {} : { timeoutMs: options.openTimeoutMs }),
    });
  }
}
