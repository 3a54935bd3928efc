import type { ResourceStatus, SpoolError } from '@spool/common';

/**
 * The minimal connection to one remote resource that the generic download logic
 * ({@link RemoteResource}) is built on. A protocol implementation (Step WebSocket, HTTP, ...)
 * provides it.
 *
 * Requests may be issued while others are pending; each promise settles with its own
 * reply. When the connection ends, pending and later requests reject with the close error.
 */
export interface DownloadTransport {
  /** Id of the resource this transport reads. */
  readonly resourceId: string;
  /**
   * Subscribes to status changes. The latest known status, if any, is replayed to the
   * listener synchronously. Returns an unsubscribe function.
   */
  onStatus(listener: (status: ResourceStatus) => void): () => void;
  /**
   * Subscribes to the end of the connection, called once with the reason (a
   * `ConnectionClosedError` when closed by {@link close}); called at once if already closed.
   * Returns an unsubscribe function.
   */
  onClose(listener: (error: SpoolError) => void): () => void;
  /** Fetches bytes `[start, end)`; `end` must not exceed the latest status's size. */
  requestChunk(start: number, end: number): Promise<Buffer>;
  /** Fetches up to `count` lines from line index `start`, each keeping its trailing "\n". */
  requestLines(start: number, count: number): Promise<string[]>;
  /** Closes the connection; pending requests reject. */
  close(): Promise<void>;
}
