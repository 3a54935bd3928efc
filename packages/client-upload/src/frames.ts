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
