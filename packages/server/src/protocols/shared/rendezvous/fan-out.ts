import type { ServerResponse } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';

/** What a sender's bytes come from: its request body, or the first file part of its form. */
export interface PipeSource {
  readonly stream: Readable;
  /** Settles true once the body arrived whole, false as soon as it is known to be cut short. */
  readonly complete: Promise<boolean>;
}

/**
 * The queue between the sender's socket and the receivers' (a PassThrough's buffer): while
 * the receivers' sockets are busy, the sender's reads collect here, and once they drain,
 * the queued chunks are written in one go (one `writev`), instead of a write per read.
 * This halves the CPU a pipe costs per byte.
 */
export const TRANSFER_BUFFER_BYTES = 256 * 1024;
/** What each receiver may have queued before the queue pauses (a share of 1 MiB, at least 64 KiB). */
const RECEIVERS_QUEUE_BYTES = 1024 * 1024;
const MIN_RECEIVER_QUEUE_BYTES = 64 * 1024;

/**
 * How a transfer ended: every receiver got every byte (`finished`), the sender stopped
 * before its end (`source-aborted`: every receiver was cut off), or every receiver left
 * (`receivers-gone`: the caller ends the sender).
 */
export type FanOutEnd = 'finished' | 'source-aborted' | 'receivers-gone';

export interface FanOutResult {
  readonly end: FanOutEnd;
  readonly bytes: number;
}

/**
 * Copies `source` to every receiver at the pace of the slowest: each chunk is handed to
 * every open receiver, and the queue pauses until each one that refused more (`write`
 * false) has drained. Memory per transfer: TRANSFER_BUFFER_BYTES plus a chunk per
 * receiver beyond its socket buffer, whatever the size or the receivers' speed.
 *
 * A sender cut short destroys every receiver's response: its client sees an incomplete
 * body (no terminating chunk, fewer bytes than Content-Length), never a clean end.
 * A receiver that leaves is dropped; the others go on.
 */
export interface FanOutWatch {
  /** Bytes sent so far (called per chunk: keep it cheap). */
  progress?(bytes: number): void;
  /** A receiver left before the end (the others go on). */
  dropped?(sink: ServerResponse): void;
}

export function fanOut(source: PipeSource, sinks: readonly ServerResponse[], watch: FanOutWatch = {}): Promise<FanOutResult> {
  const queue = new PassThrough({ highWaterMark: TRANSFER_BUFFER_BYTES });
  source.stream.on('error', (err: Error) => queue.destroy(err));
  source.stream.pipe(queue);
  const open = new Set(sinks);
  /** Receivers that refused more (`write` false): the queue waits for their 'drain'. */
  const awaiting = new Set<ServerResponse>();
  const share = Math.max(MIN_RECEIVER_QUEUE_BYTES, Math.floor(RECEIVERS_QUEUE_BYTES / Math.max(1, sinks.length)));
  let bytes = 0;
  let ending = false;
  return new Promise<FanOutResult>((resolve) => {
    let settled = false;
    const drains = new Map<ServerResponse, () => void>();
    const settle = (end: FanOutEnd) => {
      if (settled) return;
      settled = true;
      queue.off('data', onData);
      for (const [sink, listener] of drains) sink.off('drain', listener);
      if (end !== 'finished') {
        source.stream.unpipe(queue);
        queue.destroy();
      }
      resolve({ end, bytes });
    };
    const abortAll = () => {
      if (settled) return;
      for (const sink of open) sink.destroy();
      settle('source-aborted');
    };
    const maybeFinished = () => {
      if (!ending || settled) return;
      for (const sink of open) if (!sink.writableFinished) return;
      settle(open.size > 0 ? 'finished' : 'receivers-gone');
    };
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      // Past its share, `write` has returned false: its 'drain' will come. Below it, the
      // chunks the queue hands over in one tick go out in one socket write.
      for (const sink of open) if (!sink.write(chunk) && sink.writableLength >= share) awaiting.add(sink);
      if (awaiting.size > 0) queue.pause();
      watch.progress?.(bytes);
    };
    const released = (sink: ServerResponse) => {
      if (awaiting.delete(sink) && awaiting.size === 0 && !settled) queue.resume();
    };
    for (const sink of sinks) {
      const listener = () => released(sink);
      drains.set(sink, listener);
      sink.on('drain', listener);
      sink.once('finish', maybeFinished);
      sink.once('close', () => {
        if (settled || sink.writableFinished) return;
        open.delete(sink);
        released(sink);
        watch.dropped?.(sink);
        if (open.size === 0) settle('receivers-gone');
        else maybeFinished();
      });
    }
    queue.on('data', onData);
    queue.once('error', abortAll);
    queue.once('end', () => {
      void source.complete.then((whole) => {
        // A body cut short (a form's part ends like a whole one) never ends the answers cleanly.
        if (!whole) return abortAll();
        if (settled) return;
        ending = true;
        for (const sink of open) sink.end();
        maybeFinished();
      });
    });
    void source.complete.then((whole) => {
      if (!whole) abortAll();
    });
  });
}
