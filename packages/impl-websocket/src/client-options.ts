import { DEFAULT_MAX_CHUNK_BYTES, type RemoteResourceOptions } from '@spool/client-download';

/** `value` if it is a positive safe integer. @throws RangeError naming the option otherwise. */
export function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

/** Options both WebSocket upload clients take (Spool's and Step's). */
export interface WebSocketUploadClientOptions {
  /** Server base URL (`ws://host:port`, `http://host:port`, optionally with a path prefix); the protocol's upload path is appended. */
  url: string | URL;
  /** Upload context the resource belongs to (groups uploads; some servers require one). */
  contextId?: string;
  /** Largest data frame sent; also the read size for file sources. */
  frameSize?: number;
  /** Bytes queued on the socket before the upload waits for it to drain. */
  highWaterMark?: number;
  /** Opening handshake timeout (default 10 s). */
  connectTimeoutMs?: number;
  /** How long to wait for the server's answers to starting and finishing an upload (default 60 s). */
  responseTimeoutMs?: number;
  /** Ping interval for dead-server detection (default 30 s; 0 disables). */
  keepAliveIntervalMs?: number;
  /** Extra HTTP headers for the upgrade request (e.g. `authorization: Bearer <uploader token>`). */
  headers?: Record<string, string>;
  /**
   * Hash the bytes with MD5 on the client and have the server verify it (default false:
   * the server computes the MD5 of every byte anyway and returns it, and hashing here would
   * take a core from the upload; TCP already checks the bytes on the way).
   */
  verifyMd5?: boolean;
}

export type ResolvedUploadClientOptions = Required<Omit<WebSocketUploadClientOptions, 'url' | 'contextId' | 'headers'>> &
  Pick<WebSocketUploadClientOptions, 'headers'>;

/** {@link WebSocketUploadClientOptions} with their defaults (`frameSize` and `highWaterMark` differ by protocol). */
export function resolveUploadClientOptions(
  options: WebSocketUploadClientOptions,
  defaults: { frameSize: number; highWaterMark: number },
): ResolvedUploadClientOptions {
  return {
    frameSize: positiveInteger('frameSize', options.frameSize ?? defaults.frameSize),
    highWaterMark: positiveInteger('highWaterMark', options.highWaterMark ?? defaults.highWaterMark),
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    responseTimeoutMs: options.responseTimeoutMs ?? 60_000,
    keepAliveIntervalMs: options.keepAliveIntervalMs ?? 30_000,
    headers: options.headers,
    verifyMd5: options.verifyMd5 ?? false,
  };
}

/** Options both WebSocket download clients take (Spool's and Step's). */
export interface WebSocketDownloadClientOptions {
  /**
   * The server (`http://host:8080`, `ws://host:8080`, with a path prefix if any): lets
   * `open()` take a resource's id or name. URIs passed to `open()` name their server themselves.
   */
  url?: string | URL;
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
  /** Extra HTTP headers for the upgrade request (e.g. `authorization: Bearer <reader token>`). */
  headers?: Record<string, string>;
}

const MIN_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export type ResolvedDownloadClientOptions = Required<
  Pick<WebSocketDownloadClientOptions, 'maxMessageBytes' | 'connectTimeoutMs' | 'openTimeoutMs' | 'keepAliveIntervalMs'>
> &
  Pick<WebSocketDownloadClientOptions, 'headers'> & {
    /** The options of the `RemoteResource`. */
    resource: RemoteResourceOptions;
  };

/** {@link WebSocketDownloadClientOptions} with their defaults. */
export function resolveDownloadClientOptions(options: WebSocketDownloadClientOptions): ResolvedDownloadClientOptions {
  const maxChunkBytes = options.maxChunkBytes ?? DEFAULT_MAX_CHUNK_BYTES;
  const resource: RemoteResourceOptions = {
    maxChunkBytes,
    ...(options.maxLinesPerRequest === undefined ? {} : { maxLinesPerRequest: options.maxLinesPerRequest }),
    ...(options.readAheadChunks === undefined ? {} : { readAheadChunks: options.readAheadChunks }),
  };
  return {
    // Replies are single messages, never split: room for the largest chunk asked for.
    maxMessageBytes: options.maxMessageBytes ?? Math.max(MIN_MAX_MESSAGE_BYTES, 2 * maxChunkBytes),
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    openTimeoutMs: options.openTimeoutMs ?? 30_000,
    keepAliveIntervalMs: options.keepAliveIntervalMs ?? 30_000,
    headers: options.headers,
    resource,
  };
}
