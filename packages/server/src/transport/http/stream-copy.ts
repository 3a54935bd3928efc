import type { Readable, Writable } from 'node:stream';
import { TimeoutError } from '@spool/common';

/**
 * Resolves on 'drain', or when the response (or the compressor in front of it) closes: a
 * client gone never drains. With `idleTimeoutMs`, a client that takes nothing for that
 * long is cut (the response destroyed with a TIMEOUT): a stalled reader must not hold a
 * connection for ever.
 */
export function drainedOrClosed(res: Writable, idleTimeoutMs = 0): Promise<void> {
  if (res.destroyed || res.writableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    const timer =
      idleTimeoutMs > 0
        ? setTimeout(() => res.destroy(new TimeoutError(`The client took no byte of the response for ${idleTimeoutMs} ms`)), idleTimeoutMs)
        : undefined;
    timer?.unref();
    const done = () => {
      clearTimeout(timer);
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
 * buffer suspends reading from storage until it drains, so nothing queues up in memory
 * (a client stalled for `idleTimeoutMs`, if given, is cut).
 * Returns the bytes handed to the response; stops early (fewer bytes) if the client goes
 * away. A storage error rejects. `source` is always destroyed.
 */
export async function copyToResponse(source: Readable, res: Writable, idleTimeoutMs = 0): Promise<number> {
  let copied = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (res.destroyed) break;
      copied += chunk.length;
      if (!res.write(chunk)) await drainedOrClosed(res, idleTimeoutMs);
    }
  } finally {
    source.destroy();
  }
  return copied;
}
