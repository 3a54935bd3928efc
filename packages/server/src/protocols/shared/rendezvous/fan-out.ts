import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

/** What a sender's bytes come from: its request body, or the first file part of its form. */
export interface PipeSource {
  readonly stream: Readable;
  /** Settles true once the body arrived whole, false as soon as it is known to be cut short. */
  readonly complete: Promise<boolean>;
}

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
 * every open receiver, and the source pauses until each one that refused more (`write`
 * false) has drained. Memory per transfer: the source's buffer plus one chunk per
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
  const { stream } = source;
  const open = new Set(sinks);
  const awaiting = new Set<ServerResponse>();
  let bytes = 0;
  let ending = false;
  return new Promise<FanOutResult>((resolve) => {
    let settled = false;
    const settle = (end: FanOutEnd) => {
      if (settled) return;
      settled = true;
      stream.off('data', onData);
      for (const sink of sinks) sink.off('drain', onDrain(sink));
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
      for (const sink of open) if (!sink.write(chunk)) awaiting.add(sink);
      if (awaiting.size > 0) stream.pause();
      watch.progress?.(bytes);
    };
    const drains = new Map<ServerResponse, () => void>();
    const onDrain = (sink: ServerResponse) => {
      let listener = drains.get(sink);
      if (!listener) {
        listener = () => {
          if (awaiting.delete(sink) && awaiting.size === 0 && !settled) stream.resume();
        };
        drains.set(sink, listener);
      }
      return listener;
    };
    for (const sink of sinks) {
      sink.on('drain', onDrain(sink));
      sink.once('finish', maybeFinished);
      sink.once('close', () => {
        if (settled || sink.writableFinished) return;
        open.delete(sink);
        onDrain(sink)();
        watch.dropped?.(sink);
        if (open.size === 0) settle('receivers-gone');
        else maybeFinished();
      });
    }
    stream.on('data', onData);
    stream.once('error', abortAll);
    stream.once('end', () => {
      void source.complete.then((whole) => {
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
    stream.resume();
  });
}
