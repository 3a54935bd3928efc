import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

/** What a sender's bytes come from: its request body, or the first file part of its form. */
export interface PipeSource {
  readonly stream: Readable;
  /** Settles true once the body arrived whole, false as soon as it is known to be cut short. */
  readonly complete: Promise<boolean>;
}

/**
 * What each receiver may have queued before the sender pauses (a share of 1 MiB, at least
 * 64 KiB): while a receiver's socket is busy its chunks collect in its response, and once
 * it drains they go out in one `writev`, instead of a pause, a resume and a write per read.
 */
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
 * Copies `source` to every receiver at the pace of the slowest: each chunk read is handed
 * to every open receiver, and the sender is paused until each one past its share has
 * drained. The chunks go from the sender's stream to the receivers' sockets with no
 * stream in between (a PassThrough there cost a third of the server's CPU per byte).
 * Memory per transfer: 1 MiB (64 KiB per receiver beyond 16) plus a chunk per receiver,
 * whatever the size or the receivers' speed.
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
  const input = source.stream;
  const open = new Set(sinks);
  /** Receivers past their share: the sender waits for their 'drain'. */
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
      input.off('data', onData);
      for (const [sink, listener] of drains) sink.off('drain', listener);
      // The rest of a body nobody takes stays unread: the caller answers the sender, then cuts it.
      if (end !== 'finished') input.pause();
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
      // chunks read while its socket is busy go out together, in one `writev`, once it drains.
      for (const sink of open) if (!sink.write(chunk) && sink.writableLength >= share) awaiting.add(sink);
      if (awaiting.size > 0) input.pause();
      watch.progress?.(bytes);
    };
    const released = (sink: ServerResponse) => {
      if (awaiting.delete(sink) && awaiting.size === 0 && !settled) input.resume();
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
    // Kept after the end: an error then must not go unhandled.
    input.on('error', abortAll);
    input.once('end', () => {
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
    input.on('data', onData);
    // A source paused before (a form's part) does not flow by itself once read.
    input.resume();
  });
}
