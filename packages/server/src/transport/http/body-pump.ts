import type { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { type SpoolError, UploadAbortedError } from '@spool/common';
import { type BodyTimeouts, BodyWatchdog } from './body-watchdog.js';

/**
 * Where body bytes go: an UploadSession, the multipart parser, or a small in-memory
 * collector. `write` returning false asks for a pause until 'drain'; 'error' fails.
 */
export interface ChunkSink extends EventEmitter {
  write(chunk: Buffer): boolean;
}

export interface PumpLimit {
  /** Most bytes the source may bring (Infinity = no limit); bytes up to it are still written. */
  room: number;
  /** The error for a source larger than `room`. */
  tooLarge: () => SpoolError;
}

export interface PumpOptions extends PumpLimit {
  /** Called for every chunk (the watchdog's `touch`). */
  onChunk?: () => void;
  /**
   * The error for a source that failed or closed before its end, after `bytes` (the
   * source's own error as `cause`), or undefined if it was complete nonetheless.
   */
  interrupted: (bytes: number, cause?: Error) => SpoolError | undefined;
}

/** A running copy: `done` settles once, with the byte count or the first error. */
export interface StreamPump {
  readonly done: Promise<number>;
  /** Stops the copy with `err` (a no-op once settled). */
  cancel(err: unknown): void;
}

/**
 * Copies `source` into `sink` with back-pressure: the source is paused while the sink
 * wants to drain (so TCP flow control reaches the client) and resumed on 'drain'.
 * Settles with the byte count at the end of the source, or rejects — leaving the source
 * paused and detached — on more than `room` bytes (after writing the bytes that fit),
 * a sink error or throw, the source failing or closing early, or `cancel`.
 *
 * On the last three, bytes the source had already received but not yet delivered
 * (buffered while paused) are written first: every byte that reached the server before
 * the client vanished or timed out is kept.
 */
export function pumpStream(source: Readable, sink: ChunkSink, options: PumpOptions): StreamPump {
  let cancel: (err: unknown) => void = () => undefined;
  const done = new Promise<number>((resolve, reject) => {
    let bytes = 0;
    let settled = false;
    let salvaging = false;

    const onData = (chunk: Buffer) => {
      if (settled) return;
      options.onChunk?.();
      const room = options.room - bytes;
      if (chunk.length > room) {
        if (room > 0) writeToSink(chunk.subarray(0, room));
        settle(options.tooLarge());
        return;
      }
      writeToSink(chunk);
    };
    const writeToSink = (chunk: Buffer) => {
      bytes += chunk.length;
      let more: boolean;
      try {
        more = sink.write(chunk);
      } catch (err) {
        settle(err);
        return;
      }
      if (!more && !settled && !salvaging) {
        source.pause();
        sink.once('drain', onDrain);
      }
    };
    const onDrain = () => {
      if (!settled) source.resume();
    };
    const onEnd = () => settle();
    const onClose = () => interrupt(() => options.interrupted(bytes));
    const onSourceError = (err: Error) => interrupt(() => options.interrupted(bytes, err) ?? err);
    const onSinkError = (err: unknown) => settle(err);

    /** Ends the copy for a reason on the source's side: what it already holds is written first. */
    function interrupt(reason: () => unknown): void {
      if (settled) return;
      // Read what is buffered ourselves: a 'data' listener would see it twice.
      source.off('data', onData);
      salvaging = true;
      for (let chunk = source.read() as Buffer | null; chunk !== null && !settled; chunk = source.read() as Buffer | null) onData(chunk);
      salvaging = false;
      settle(reason());
    }

    function settle(err?: unknown): void {
      if (settled) return;
      settled = true;
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('close', onClose);
      source.off('error', onSourceError);
      sink.off('drain', onDrain);
      sink.off('error', onSinkError);
      if (err === undefined) {
        resolve(bytes);
        return;
      }
      source.pause();
      reject(err);
    }
    cancel = (err) => interrupt(() => err);

    sink.on('error', onSinkError);
    source.on('error', onSourceError);
    source.on('close', onClose);
    source.on('end', onEnd);
    if (source.destroyed) {
      // Closed before we got to it (the client sent and vanished while the resource was being created).
      onClose();
      return;
    }
    source.on('data', onData);
    if (source.readableEnded) settle();
  });
  return { done, cancel: (err) => cancel(err) };
}

/**
 * pumpStream for a request body, plus the body's idle timeout and deadline (TIMEOUT) and
 * the client going away before the end (UPLOAD_ABORTED).
 */
export function pumpRequestBody(req: IncomingMessage, sink: ChunkSink, options: PumpLimit & BodyTimeouts): StreamPump {
  let watchdog: BodyWatchdog | undefined;
  const pump = pumpStream(req, sink, {
    ...options,
    onChunk: () => watchdog?.touch(),
    interrupted: (bytes) =>
      req.complete
        ? undefined
        : new UploadAbortedError(`The client closed the connection after ${bytes} bytes, before the end of the request body`, {
            received: bytes,
          }),
  });
  watchdog = new BodyWatchdog(req, options, (err) => pump.cancel(err));
  watchdog.start();
  const stopWatchdog = () => watchdog?.stop();
  pump.done.then(stopWatchdog, stopWatchdog);
  return pump;
}
