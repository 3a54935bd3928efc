import { transcodeToUtf8 } from './transcode.js';
import type { UploadRequest, UploadSource } from './types.js';
import { readUploadSource } from './upload-source.js';

/**
 * Cuts a byte stream into frames of at most `maxFrameBytes` without copying (frames are
 * views of the input) and drops empty chunks, so a transport never sends an empty data
 * frame by accident.
 */
export async function* splitIntoFrames(chunks: AsyncIterable<Buffer>, maxFrameBytes: number): AsyncGenerator<Buffer> {
  if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes <= 0) {
    throw new RangeError(`maxFrameBytes must be a positive integer, got ${maxFrameBytes}`);
  }
  for await (const chunk of chunks) {
    for (let offset = 0; offset < chunk.length; offset += maxFrameBytes) {
      yield chunk.subarray(offset, offset + maxFrameBytes);
    }
  }
}

/**
 * The frames an upload sends: `source` read in `frameSize` chunks, transcoded to UTF-8
 * when the request names a `sourceCharset`, cut into frames of at most `frameSize` bytes.
 */
export function uploadFrames(source: UploadSource, request: UploadRequest, frameSize: number): AsyncGenerator<Buffer> {
  const bytes = readUploadSource(source, { chunkBytes: frameSize });
  const utf8 = request.sourceCharset === undefined ? bytes : transcodeToUtf8(bytes, request.sourceCharset);
  return splitIntoFrames(utf8, frameSize);
}
