/**
 * Runs the handling of one connection event; whatever it throws, or the promise it
 * returns rejects with, goes to `onError` (which ends that connection). Event handlers
 * of a connection thus never throw into the transport, nor leave a rejection unhandled.
 */
export function runGuarded(step: () => void | Promise<void>, onError: (err: unknown) => void): void {
  try {
    const result = step();
    if (result) result.catch(onError);
  } catch (err) {
    onError(err);
  }
}
