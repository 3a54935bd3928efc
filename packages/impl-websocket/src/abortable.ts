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
