import type { Readable } from 'node:stream';
import { TimeoutError } from '@spool/common';

/**
 * The first chunk `stream` brings, put back (`unshift`) so whoever reads it next gets
 * every byte; empty if the stream ends (or closes) first. Used to sniff the type of an
 * upload nothing else describes, so it holds one chunk at most. Rejects with TIMEOUT
 * after `idleTimeoutMs` without a byte (0 = wait as long as it takes), leaving the
 * stream paused for the caller's error handling.
 */
export function peekFirstChunk(stream: Readable, idleTimeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (chunk: Buffer | undefined, err?: Error) => {
      clearTimeout(timer);
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.off('error', onEnd);
      if (err) reject(err);
      else resolve(chunk ?? Buffer.alloc(0));
    };
    const onReadable = () => {
      const chunk = stream.read() as Buffer | null;
      if (chunk === null) return;
      stream.unshift(chunk);
      done(chunk);
    };
    // An error or early close is the later reader's to report; the peek just sees no bytes.
    const onEnd = () => done(undefined);
    if (idleTimeoutMs > 0) {
      timer = setTimeout(() => done(undefined, new TimeoutError(`No request body bytes for ${idleTimeoutMs} ms`)), idleTimeoutMs);
      timer.unref();
    }
    if (stream.readableEnded || stream.destroyed) {
      done(undefined);
      return;
    }
    stream.on('readable', onReadable);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.once('error', onEnd);
  });
}
