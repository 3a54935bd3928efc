import type { Upload } from '@spool/client-upload';
import { UploadAbortedError } from '@spool/common';

/**
 * `promise`, or a rejection with the reason of the first of `signals` that aborts.
 *
 * Why not `Promise.race([promise, neverSettling])`: each race leaves a reaction on the
 * long-lived promise that keeps the race's result alive — an uploader racing every chunk
 * against "connection ended" would retain every chunk. Signal listeners are removed as
 * soon as the wait is over.
 */
export function untilAborted<T>(promise: Promise<T>, ...signals: AbortSignal[]): Promise<T> {
  const aborted = signals.find((signal) => signal.aborted);
  if (aborted) {
    promise.catch(() => undefined); // it may still reject later; nobody waits for it
    return Promise.reject(aborted.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const listeners = signals.map((signal) => {
      const onAbort = () => {
        cleanup();
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      return () => signal.removeEventListener('abort', onAbort);
    });
    const cleanup = () => {
      for (const remove of listeners) remove();
    };
    promise.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (error: unknown) => {
        cleanup();
        reject(error);
      },
    );
  });
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts (the timer is then cleared). */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The reason a signal aborted an upload, in words. */
function abortReason(signal: AbortSignal): string {
  const { reason } = signal;
  return reason instanceof Error ? reason.message : reason === undefined ? 'aborted' : String(reason);
}

/**
 * Starts an upload unless `signal` aborts first (then `UploadAbortedError`, and an upload
 * that got started meanwhile is cancelled); once started, aborting the signal cancels it
 * (FAILED on the server, bytes kept; its `complete()` rejects with `UploadAbortedError`).
 */
export async function startAbortable<U extends Upload & { readonly settled: Promise<unknown> }>(
  signal: AbortSignal | undefined,
  start: () => Promise<U>,
): Promise<U> {
  if (!signal) return start();
  const aborted = () => new UploadAbortedError(`Upload aborted: ${abortReason(signal)}`, { reason: abortReason(signal) });
  if (signal.aborted) throw aborted();
  const starting = start();
  let upload: U;
  try {
    upload = await untilAborted(starting, signal);
  } catch (error) {
    if (!signal.aborted) throw error;
    starting.then(
      (late) => late.cancel(abortReason(signal)),
      () => undefined,
    );
    throw aborted();
  }
  const onAbort = () => void upload.cancel(abortReason(signal));
  signal.addEventListener('abort', onAbort, { once: true });
  const forget = () => signal.removeEventListener('abort', onAbort);
  upload.settled.then(forget, forget);
  return upload;
}

/** `opening` unless `signal` aborts first (then its reason; a resource opened meanwhile is closed). */
export async function openAbortable<R extends { close(): Promise<void> }>(
  opening: Promise<R>,
  signal: AbortSignal | undefined,
): Promise<R> {
  if (!signal) return opening;
  try {
    return await untilAborted(opening, signal);
  } catch (error) {
    opening.then(
      (late) => late.close(),
      () => undefined,
    );
    throw error;
  }
}
