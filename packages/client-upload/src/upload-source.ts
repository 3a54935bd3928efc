import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { SpoolError, UploadAbortedError } from '@spool/common';
import { isCompletableSource, type UploadChunk, type UploadSource } from './types.js';

/** Default size of the chunks read from files and cut from in-memory buffers. */
export const DEFAULT_SOURCE_CHUNK_BYTES = 256 * 1024;

export interface ReadUploadSourceOptions {
  /** Size of the chunks read from a file path or cut from a buffer (default 256 KiB). */
  chunkBytes?: number;
}

/** Converts one chunk to a Buffer without copying bytes that already are binary. */
export function chunkToBuffer(chunk: UploadChunk): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError(`Upload chunks must be Buffer, Uint8Array or string, got ${describe(chunk)}`);
}

/**
 * Normalises any {@link UploadSource} into an async iterable of Buffers, pulling one
 * chunk at a time so memory stays bounded whatever the source's size: files are read
 * in `chunkBytes` pieces, in-memory buffers are cut into views, streams and iterables
 * are consumed with back-pressure. Stopping the iteration early closes files and
 * destroys streams.
 */
export async function* readUploadSource(source: UploadSource, options: ReadUploadSourceOptions = {}): AsyncGenerator<Buffer> {
  const chunkBytes = options.chunkBytes ?? DEFAULT_SOURCE_CHUNK_BYTES;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes <= 0) {
    throw new RangeError(`chunkBytes must be a positive integer, got ${chunkBytes}`);
  }
  if (typeof source === 'string' || source instanceof URL) {
    for await (const chunk of createReadStream(source, { highWaterMark: chunkBytes })) {
      yield chunk as Buffer;
    }
    return;
  }
  if (source instanceof Uint8Array) {
    const bytes = chunkToBuffer(source);
    for (let offset = 0; offset < bytes.length; offset += chunkBytes) {
      yield bytes.subarray(offset, offset + chunkBytes);
    }
    return;
  }
  if (isAsyncIterable(source)) {
    // Covers Node Readables too (byte, string-decoded or object mode).
    for await (const chunk of source) yield chunkToBuffer(chunk as UploadChunk);
    return;
  }
  if (isIterable(source)) {
    for (const chunk of source) yield chunkToBuffer(chunk);
    return;
  }
  throw new TypeError(`Unsupported upload source: ${describe(source)}`);
}

/**
 * Lets go of a source whose upload failed or was cancelled, releasing a read that may be
 * waiting on it (a growing file idling on a poll, a stream that has stalled): a
 * {@link CompletableSource} is aborted with `reason`, a Readable destroyed.
 */
export function releaseUploadSource(source: UploadSource, reason: unknown): void {
  if (isCompletableSource(source)) source.abort(reason);
  else if (source instanceof Readable) source.destroy();
}

/** A source's read error as the upload's failure: SpoolErrors as they are, others wrapped (kept as `cause`). */
export function sourceFailure(error: unknown): SpoolError {
  if (error instanceof SpoolError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const failure = new UploadAbortedError(`Reading the upload source failed: ${message}`, { cause: message });
  failure.cause = error;
  return failure;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    typeof value === 'object' && value !== null && typeof (value as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function'
  );
}

function isIterable(value: unknown): value is Iterable<UploadChunk> {
  return typeof value === 'object' && value !== null && typeof (value as Partial<Iterable<unknown>>)[Symbol.iterator] === 'function';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return typeof value;
}
