import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { addAbortSignal, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  InvalidRangeError,
  isTerminal,
  LineAccessUnsupportedError,
  LinesOutOfRangeError,
  type ResourceStatus,
  type SpoolError,
} from '@spool/common';
import { LineSplitter } from './line-splitter.js';
import { type ChunkSource, ResourceReadStream } from './resource-read-stream.js';
import { StatusTracker, type WaitForStatusOptions } from './status-tracker.js';
import type { DownloadTransport } from './transport.js';
import { firstStatus, malformedByteRange, malformedLineRange, wrongChunkLength } from './transport-requests.js';

/** Default largest chunk requested at once (4 MiB). */
export const DEFAULT_MAX_CHUNK_BYTES = 4 * 1024 * 1024;
/** Default number of chunks a stream requests ahead of its consumer. */
export const DEFAULT_READ_AHEAD_CHUNKS = 3;
/** Default largest number of lines requested at once. */
export const DEFAULT_MAX_LINES_PER_REQUEST = 10_000;

export interface RemoteResourceOptions {
  /** Largest byte range requested in one message (default 4 MiB); bounds memory per stream. */
  maxChunkBytes?: number;
  /**
   * Chunk requests a stream (`follow()`, `createReadStream()`) keeps outstanding (default 3),
   * so the server never waits for a round trip; a stream holds at most this many chunks.
   */
  readAheadChunks?: number;
  /** Largest number of lines requested in one message (default 10,000). */
  maxLinesPerRequest?: number;
}

export interface OpenRemoteResourceOptions extends RemoteResourceOptions {
  /** How long to wait for the first status (default 30 s). */
  timeoutMs?: number;
}

export interface ReadStreamRange {
  /** First byte (default 0). */
  start?: number;
  /** End, exclusive (default: the size visible now). Must not exceed it. */
  end?: number;
}

export interface FollowOptions {
  /** Offset of the first byte to deliver (default 0). */
  fromOffset?: number;
  /** Stops following: the stream is destroyed with an `AbortError` (as Node streams are). */
  signal?: AbortSignal;
}

export interface FollowLinesOptions extends FollowOptions {
  /**
   * Start with the last `tail` lines (as `tail -n 100 -f`; instead of `fromOffset`): the
   * last `tail` whole lines, then the rest as it comes — as HTTP's `?follow=1&tail=N`.
   * Needs line access.
   */
  tail?: number;
  /** A line longer than this (UTF-16 code units) is delivered in pieces (default 1 Mi). */
  maxLineLength?: number;
}

/** The last lines of a resource, as {@link RemoteResource.readLines} takes them. */
export interface TailLines {
  /** How many lines from the end. */
  tail: number;
}

/** First step of a backward scan for the start of the last lines; it doubles up to `maxChunkBytes`. */
const TAIL_SCAN_FIRST_BYTES = 64 * 1024;

/**
 * A line as every API gives it: its text without the terminator (`\n` or `\r\n`) — the
 * rule HTTP's JSON line pages follow too. (The WebSocket wires keep the `\n`, as Step's does.)
 */
export function lineWithoutTerminator(line: string): string {
  if (!line.endsWith('\n')) return line;
  return line.endsWith('\r\n') ? line.slice(0, -2) : line.slice(0, -1);
}

/** What {@link RemoteResource.downloadTo} wrote. */
export interface DownloadSummary {
  size: number;
  /** Lowercase hex MD5 of the bytes written. */
  md5: string;
}

/**
 * A remote resource — possibly still growing — read through any {@link DownloadTransport}:
 * its status, byte ranges, lines, and a follower stream that delivers every byte as the
 * resource grows and ends (or fails) with it.
 *
 * Create it with {@link RemoteResource.open} (or a client's `open()`); close it with
 * {@link close} when done, which also ends open streams with a `ConnectionClosedError`.
 */
export class RemoteResource {
  readonly #transport: DownloadTransport;
  readonly #statuses = new StatusTracker();
  readonly #maxChunkBytes: number;
  readonly #readAheadChunks: number;
  readonly #maxLinesPerRequest: number;
  readonly #chunkSource: ChunkSource;

  /**
   * Waits for the transport's first status, then wraps it. On failure (connection closed
   * first, timeout) the transport is closed and the error rethrown.
   * @throws TimeoutError, or whatever error closed the connection (e.g. ResourceNotFoundError).
   */
  static async open(transport: DownloadTransport, options: OpenRemoteResourceOptions = {}): Promise<RemoteResource> {
    try {
      await firstStatus(transport, options.timeoutMs ?? 30_000);
    } catch (error) {
      await transport.close().catch(() => undefined);
      throw error;
    }
    return new RemoteResource(transport, options);
  }

  /** Wraps a transport that has already received a status (see {@link open}). */
  constructor(transport: DownloadTransport, options: RemoteResourceOptions = {}) {
    this.#transport = transport;
    this.#maxChunkBytes = positiveInteger('maxChunkBytes', options.maxChunkBytes ?? DEFAULT_MAX_CHUNK_BYTES);
    this.#readAheadChunks = positiveInteger('readAheadChunks', options.readAheadChunks ?? DEFAULT_READ_AHEAD_CHUNKS);
    this.#maxLinesPerRequest = positiveInteger('maxLinesPerRequest', options.maxLinesPerRequest ?? DEFAULT_MAX_LINES_PER_REQUEST);
    transport.onStatus((status) => this.#statuses.update(status));
    transport.onClose((error) => this.#statuses.close(error));
    if (!this.#statuses.latest) {
      throw new Error(`Transport for ${transport.resourceId} has no status yet; use RemoteResource.open()`);
    }
    this.#chunkSource = {
      resourceId: transport.resourceId,
      statuses: this.#statuses,
      requestChunk: (start, end) => transport.requestChunk(start, end),
    };
  }

  get id(): string {
    return this.#transport.resourceId;
  }

  /** The latest status received (sizes never go backwards). */
  get status(): ResourceStatus {
    // Set in the constructor and only ever replaced.
    return this.#statuses.latest as ResourceStatus;
  }

  /** Why the connection ended, once it has (undefined while open). */
  get closeError(): SpoolError | undefined {
    return this.#statuses.closeError;
  }

  /** Subscribes to status changes; the latest status is replayed at once. Returns an unsubscribe function. */
  onStatus(listener: (status: ResourceStatus) => void): () => void {
    return this.#statuses.subscribe(listener);
  }

  /**
   * Resolves with the first status (the current one included) that satisfies `predicate`.
   * Rejects with UploadFailedError / ResourceTerminalError if the resource ends without
   * satisfying it, with the close error if the connection ends, TimeoutError on timeout.
   */
  waitForStatus(predicate: (status: ResourceStatus) => boolean, options?: WaitForStatusOptions): Promise<ResourceStatus> {
    return this.#statuses.waitFor(predicate, options);
  }

  /** Resolves with the terminal status (COMPLETED or FAILED). */
  waitForTerminal(options?: WaitForStatusOptions): Promise<ResourceStatus> {
    return this.#statuses.waitFor((status) => isTerminal(status.state), options);
  }

  /**
   * Reads bytes `[start, end)`, in requests of at most `maxChunkBytes`. For large ranges
   * prefer {@link createReadStream}, which does not hold the whole range in memory.
   * @throws InvalidRangeError if the range is malformed or ends past the visible size.
   */
  async readRange(start: number, end: number): Promise<Buffer> {
    this.#checkRange(start, end);
    const chunks: Buffer[] = [];
    for (let at = start; at < end; at += this.#maxChunkBytes) {
      const chunkEnd = Math.min(end, at + this.#maxChunkBytes);
      const chunk = await this.#transport.requestChunk(at, chunkEnd);
      if (chunk.length !== chunkEnd - at) throw wrongChunkLength(this.id, at, chunkEnd, chunk.length);
      chunks.push(chunk);
    }
    return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, end - start);
  }

  /**
   * Streams bytes `[start, end)` (default: everything visible now) in chunks of at most
   * `maxChunkBytes`, fetching the next only as the consumer reads.
   * @throws InvalidRangeError if the range is malformed or ends past the visible size.
   */
  createReadStream(range: ReadStreamRange = {}): Readable {
    const start = range.start ?? 0;
    const end = range.end ?? this.status.size;
    this.#checkRange(start, end);
    return this.#stream(start, end);
  }

  /**
   * Follows the resource from `fromOffset`: a byte stream (also async-iterable) that
   * delivers every byte as the resource grows, with back-pressure. It ends when the
   * resource is COMPLETED and every byte was delivered; if the resource FAILED it errors
   * with `UploadFailedError` after delivering the bytes that exist; if the connection
   * ends first it errors with that error (e.g. `ConnectionClosedError`).
   */
  follow(options: FollowOptions = {}): Readable {
    return this.withSignal(this.#stream(this.followStart(options), undefined), options);
  }

  /** `stream`, destroyed with an AbortError when `options.signal` aborts. */
  protected withSignal<S extends Readable>(stream: S, options: FollowOptions): S {
    return options.signal ? addAbortSignal(options.signal, stream) : stream;
  }

  /**
   * The offset a follow starts at.
   * @throws InvalidRangeError if `fromOffset` is not a non-negative integer.
   */
  protected followStart(options: FollowOptions): number {
    const start = options.fromOffset ?? 0;
    if (!Number.isSafeInteger(start) || start < 0) {
      throw new InvalidRangeError(`fromOffset must be a non-negative integer, got ${start}`, { fromOffset: start });
    }
    return start;
  }

  /**
   * Follows the resource line by line (UTF-8), each line without its terminator (`\n`
   * or `\r\n`); from the start, from `fromOffset`, or from the last `tail` lines. Errors
   * like {@link follow}, after yielding any partial last line.
   * @throws LineAccessUnsupportedError for `tail` on a resource without line access.
   */
  async *followLines(options: FollowLinesOptions = {}): AsyncGenerator<string, void, undefined> {
    let { fromOffset } = options;
    if (options.tail !== undefined) {
      if (fromOffset !== undefined)
        throw new InvalidRangeError('tail and fromOffset exclude each other', { tail: options.tail, fromOffset });
      options.signal?.throwIfAborted();
      fromOffset = await this.tailOffset(options.tail);
    }
    const stream = this.follow({ ...options, fromOffset });
    const splitter = new LineSplitter(options.maxLineLength);
    try {
      for await (const chunk of stream) for (const line of splitter.push(chunk as Buffer)) yield lineWithoutTerminator(line);
    } catch (error) {
      // Deliver what exists, as follow() does, then report why it stopped.
      for (const line of splitter.end()) yield lineWithoutTerminator(line);
      throw error;
    } finally {
      stream.destroy();
    }
    for (const line of splitter.end()) yield lineWithoutTerminator(line);
  }

  /**
   * Reads the lines `[start, start + count)` — line indexes count from 0 — or the last
   * `tail` lines (`readLines({ tail: 100 })`), each without its terminator. One rule for
   * every page, as over HTTP: it holds the lines that exist now, so it may be short or
   * empty (asking past the last line is no error: a growing resource may get there).
   * Only whole lines count while the resource grows. Requests at most
   * `maxLinesPerRequest` lines per message.
   * @throws LineAccessUnsupportedError if the resource was not uploaded with line access.
   * @throws LinesOutOfRangeError if `start`, `count` or `tail` is not a non-negative integer.
   */
  async readLines(start: number, count: number): Promise<string[]>;
  async readLines(last: TailLines): Promise<string[]>;
  async readLines(startOrLast: number | TailLines, count?: number): Promise<string[]> {
    const available = this.status.lines;
    if (available === null) throw new LineAccessUnsupportedError(this.id);
    const tail = typeof startOrLast === 'object' ? startOrLast.tail : undefined;
    if (tail !== undefined && !(Number.isSafeInteger(tail) && tail >= 0)) {
      throw new LinesOutOfRangeError(`tail must be a non-negative integer, got ${tail}`, { tail });
    }
    const start = tail === undefined ? (startOrLast as number) : Math.max(0, available - tail);
    const wanted = tail ?? (count as number);
    const malformed = malformedLineRange(start, wanted);
    if (malformed) throw malformed;
    const existing = Math.max(0, Math.min(wanted, available - start));
    const lines: string[] = [];
    while (lines.length < existing) {
      const page = Math.min(this.#maxLinesPerRequest, existing - lines.length);
      const received = await this.#transport.requestLines(start + lines.length, page);
      for (const line of received) lines.push(lineWithoutTerminator(line));
      if (received.length < page) break; // The server has no more right now.
    }
    return lines;
  }

  /**
   * The byte offset where the last `tail` lines start — as HTTP's `?tail=N` finds it in
   * the line index: the start of the N-th last line, counting a terminal resource's
   * unterminated last line but not a growing one's. Found by reading backwards from the
   * end, in reads that double from 64 KiB (at most `maxChunkBytes`), counting newlines.
   * @throws LineAccessUnsupportedError without line access (the same rule as HTTP).
   */
  protected async tailOffset(tail: number): Promise<number> {
    const { size, state, lines } = this.status;
    if (lines === null) throw new LineAccessUnsupportedError(this.id);
    if (!Number.isSafeInteger(tail) || tail < 0)
      throw new LinesOutOfRangeError(`tail must be a non-negative integer, got ${tail}`, { tail });
    // The newline just before the wanted lines, counted from the end; a terminal resource's
    // unterminated last line is one of them, so one newline fewer is passed.
    let newlinesToPass = tail + 1;
    let end = size;
    let step = TAIL_SCAN_FIRST_BYTES;
    while (end > 0) {
      const start = Math.max(0, end - step);
      const chunk = await this.readRange(start, end);
      if (end === size && isTerminal(state) && chunk[chunk.length - 1] !== 0x0a && --newlinesToPass === 0) return size;
      for (let at = chunk.lastIndexOf(0x0a); at >= 0; at = at > 0 ? chunk.lastIndexOf(0x0a, at - 1) : -1) {
        if (--newlinesToPass === 0) return start + at + 1;
      }
      end = start;
      step = Math.min(step * 2, this.#maxChunkBytes);
    }
    return 0;
  }

  /**
   * Follows the resource to its end into the file at `path` (overwritten), with
   * back-pressure, and returns its size and MD5. If the resource FAILED, the file keeps
   * the partial data and this rejects with `UploadFailedError`.
   */
  async downloadTo(path: string): Promise<DownloadSummary> {
    const md5 = createHash('md5');
    let size = 0;
    let followFailure: unknown;
    const follower = this.follow();
    await pipeline(
      // The follower's error is held back until the file is flushed: handing it to the
      // pipeline would destroy the file stream and lose the last bytes written.
      async function* measure() {
        try {
          for await (const chunk of follower) {
            md5.update(chunk as Buffer);
            size += (chunk as Buffer).length;
            yield chunk as Buffer;
          }
        } catch (error) {
          followFailure = error;
        }
      },
      createWriteStream(path),
    );
    if (followFailure !== undefined) throw followFailure;
    return { size, md5: md5.digest('hex') };
  }

  /** Closes the connection. Open streams and pending waits end with a `ConnectionClosedError`. */
  async close(): Promise<void> {
    await this.#transport.close();
  }

  #stream(start: number, end: number | undefined): Readable {
    return new ResourceReadStream(this.#chunkSource, {
      start,
      end,
      maxChunkBytes: this.#maxChunkBytes,
      readAheadChunks: this.#readAheadChunks,
    });
  }

  #checkRange(start: number, end: number): void {
    const size = this.status.size;
    const malformed = malformedByteRange(start, end, { size });
    if (malformed) throw malformed;
    if (end > size) {
      throw new InvalidRangeError(`Byte range [${start}, ${end}) ends past the ${size} bytes visible in ${this.id}`, { start, end, size });
    }
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
