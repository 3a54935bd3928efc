import type { Readable, Writable } from 'node:stream';

/** Resolves on 'drain', or when the response (or the compressor in front of it) closes: a client gone never drains. */
export function drainedOrClosed(res: Writable): Promise<void> {
  if (res.destroyed || res.writableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Copies `source` into `res` without ending it, at the client's pace: a full socket
 * buffer suspends reading from storage until it drains, so nothing queues up in memory.
 * Returns the bytes handed to the response; stops early (fewer bytes) if the client goes
 * away. A storage error rejects. `source` is always destroyed.
 */
export async function copyToResponse(source: Readable, res: Writable): Promise<number> {
  let copied = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (res.destroyed) break;
      copied += chunk.length;
      if (!res.write(chunk)) await drainedOrClosed(res);
    }
  } finally {
    source.destroy();
  }
  return copied;
}
