import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { InvalidMessageError, UploadAbortedError } from '@spool/common';
import { ReplayWindow } from './replay-window.js';

/**
 * What an HSP upload reads: a file path or bytes (re-read at any offset), a function that
 * opens the source at an offset, or an iterable read once (a resume replays the newest
 * bytes from a bounded window, see `replayBytes`).
 */
export type HspUploadSource = string | Uint8Array | ((offset: number) => AsyncIterable<Uint8Array>) | AsyncIterable<Uint8Array>;

/** The source, readable from any offset a resume asks for. */
export interface SourceReader {
  openAt(offset: number): AsyncIterable<Buffer>;
}

/** The size a source declares: a file's, the bytes', or the caller's (`size`), which an iterable needs. */
export async function sizeOf(source: HspUploadSource, size: number | undefined): Promise<number> {
  if (size !== undefined) {
    if (!Number.isSafeInteger(size) || size < 0) throw new InvalidMessageError(`size must be a whole number of bytes, got ${size}`);
    return size;
  }
  if (typeof source === 'string') return (await stat(source)).size;
  if (source instanceof Uint8Array) return source.length;
  throw new InvalidMessageError('An HSP stream declares its size up front: give `size` for a stream or function source');
}

/** A chunk as a Buffer, without copying (a text stream's strings are encoded as UTF-8). */
function toBuffer(chunk: Uint8Array | string): Buffer {
  return typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

async function* bytesFrom(bytes: Uint8Array, offset: number, bufsize: number): AsyncIterable<Buffer> {
  const buffer = toBuffer(bytes);
  for (let at = offset; at < buffer.length; at += bufsize) yield buffer.subarray(at, at + bufsize);
}

async function* readOnce(iterator: AsyncIterator<Uint8Array>, window: ReplayWindow, offset: number): AsyncIterable<Buffer> {
  const replay = window.from(offset);
  if (!replay) {
    throw new UploadAbortedError(
      `Cannot resume at byte ${offset}: the source cannot be read again and the replay window keeps only the newest replayBytes (it ends at byte ${window.end})`,
    );
  }
  yield* replay;
  for (;;) {
    const next = await iterator.next();
    if (next.done) return;
    const chunk = toBuffer(next.value);
    window.record(chunk);
    yield chunk;
  }
}

export function readerOf(source: HspUploadSource, bufsize: number, replayBytes: number): SourceReader {
  if (typeof source === 'string') return { openAt: (offset) => createReadStream(source, { start: offset, highWaterMark: bufsize }) };
  if (source instanceof Uint8Array) return { openAt: (offset) => bytesFrom(source, offset, bufsize) };
  if (typeof source === 'function') {
    return {
      async *openAt(offset) {
        for await (const chunk of source(offset)) yield toBuffer(chunk);
      },
    };
  }
  const iterator = source[Symbol.asyncIterator]();
  const window = new ReplayWindow(replayBytes);
  return { openAt: (offset) => readOnce(iterator, window, offset) };
}
