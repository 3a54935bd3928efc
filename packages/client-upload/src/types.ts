import type { Readable } from 'node:stream';

/** One piece of upload input. Strings are encoded as UTF-8 (`sourceCharset` describes byte input only). */
export type UploadChunk = Buffer | Uint8Array | string;

/**
 * What can be uploaded:
 * - a file path (string) or `file:` URL: the file is streamed as it is now (use
 *   {@link growingFile} for a file that is still being written);
 * - a `Buffer` / `Uint8Array` held in memory;
 * - a Node `Readable`, or any (async) iterable of chunks, consumed with back-pressure.
 */
export type UploadSource = string | URL | Buffer | Uint8Array | Readable | AsyncIterable<UploadChunk> | Iterable<UploadChunk>;

/**
 * A source whose end is decided by its producer rather than by reaching EOF, e.g. a
 * file still being written. `Upload.complete()` calls `complete()`; `Upload.cancel()`
 * calls `abort()`.
 */
export interface CompletableSource {
  /** The input is complete: deliver what is left, then end. */
  complete(): void;
  /** Stop at once; a pending read rejects with `reason`. */
  abort(reason?: unknown): void;
}

/** True if `source` can be told when its input is complete (see {@link CompletableSource}). */
export function isCompletableSource(source: unknown): source is CompletableSource {
  if (typeof source !== 'object' || source === null) return false;
  const candidate = source as Partial<CompletableSource>;
  return typeof candidate.complete === 'function' && typeof candidate.abort === 'function';
}

/** How far an upload is, as {@link UploadRequest.onProgress} reports it. */
export interface UploadProgress {
  /** Bytes handed to the connection so far (after transcoding). */
  bytesSent: number;
  /** Bytes the server has acknowledged (Spool: durable as the server checkpoints; Step: all of them once completed). */
  bytesAcknowledged: number;
  /** The source's size when known up front (a file path, a buffer, without transcoding); else undefined. */
  bytesTotal: number | undefined;
}

/** Describes the resource to create, and how to follow the upload. */
export interface UploadRequest {
  /** File name shown to readers. Defaults to the base name of a file-path source; required otherwise. */
  filename?: string;
  /**
   * A path-like name readers may open it by instead of its id (`ci/1234/build.log`):
   * segments of letters, digits and `. _ ~ + @ = -`, unique among live resources. Spool protocol only.
   */
  name?: string;
  /**
   * `type/subtype`, without parameters. Default: from the file name's extension
   * (`build.log` → text/plain, `trace.ndjson` → application/x-ndjson), `text/plain` when
   * `sourceCharset` is set, else from the first bytes: text/plain if they look like text,
   * application/octet-stream if not (the upload then starts once the source has bytes).
   */
  mimeType?: string;
  /** Whether readers may page the resource by lines. Defaults to true for text-like types (text/*, JSON, ndjson, CSV …). */
  supportsLineAccess?: boolean;
  /**
   * Charset of the source bytes; they are transcoded to UTF-8 on the fly before upload
   * (size, checksum and line counts then refer to the UTF-8 bytes). Omit for bytes that
   * are already UTF-8 or binary.
   */
  sourceCharset?: string;
  /** Called as bytes are sent and acknowledged (exceptions it throws are ignored). */
  onProgress?: (progress: UploadProgress) => void;
  /**
   * Aborting it cancels the upload (as {@link Upload.cancel}: the resource is FAILED, its
   * bytes kept): `upload()` or `complete()` then reject with an `UploadAbortedError`.
   */
  signal?: AbortSignal;
}

/** Where readers find an uploaded resource. */
export interface UploadReference {
  /** Absolute download URI as returned by the server (e.g. `ws://host/ws/streaming/download/<id>`): what SDK clients open. */
  uri: string;
  /** The resource id, parsed from `uri`. */
  id: string;
  /**
   * A link a person (browser, curl) can open: the resource's content over HTTP
   * (`http(s)://host/api/v1/resources/<id>/content`), when the server serves HTTP (Spool does; the Java Step server does not).
   */
  httpUri?: string;
  /** The name it was uploaded under, if any. */
  name?: string;
}

/** The server's acknowledgement of a finished upload. */
export interface UploadResult {
  reference: UploadReference;
  /** Bytes stored (after transcoding). */
  size: number;
  /**
   * Lowercase hex MD5 of the stored bytes when the server computed one (always over the
   * Step protocol; on Spool's own protocol only when asked for), else ''.
   */
  checksum: string;
  /** Number of lines, or null when the resource has no line access. */
  lines: number | null;
}

/** An upload in progress. Its data is streamed in the background once the server has accepted it. */
export interface Upload {
  /** Known as soon as the server has accepted the upload, so readers can follow it while it grows. */
  readonly reference: UploadReference;
  /** Bytes handed to the connection so far (after transcoding). */
  readonly bytesSent: number;
  /**
   * Finishes the upload: tells a {@link CompletableSource} (e.g. a growing file) that its
   * input is complete, waits until every byte is sent and the server has acknowledged it.
   * Rejects with a `SpoolError` if the upload failed or was cancelled. Safe to call more than once.
   */
  complete(): Promise<UploadResult>;
  /**
   * Aborts the upload; the server marks the resource FAILED and keeps the bytes received
   * so far. Resolves once the connection is closed; no-op after the upload was acknowledged.
   */
  cancel(reason?: string): Promise<void>;
}

/** A transport that creates resources and streams bytes into them. */
export interface UploadClient {
  /**
   * Starts uploading `source`. Resolves as soon as the server has accepted the upload
   * (with the reference readers can open); the data is streamed in the background.
   * Finish with {@link Upload.complete}.
   */
  upload(source: UploadSource, request?: UploadRequest): Promise<Upload>;
}
