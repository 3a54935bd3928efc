import {
  isStatusProgress,
  isTerminal,
  type ResourceStatus,
  ResourceTerminalError,
  type SpoolError,
  TimeoutError,
  UploadFailedError,
} from '@spool/common';
import { settleAfter, settleOnce } from './settle-once.js';

/** Options for waiting on a status. */
export interface WaitForStatusOptions {
  /** Reject with a TimeoutError after this long (default: wait indefinitely). */
  timeoutMs?: number;
  /** Abandons the wait; rejects with the signal's reason. */
  signal?: AbortSignal;
}

type StatusListener = (status: ResourceStatus) => void;

/**
 * The latest status of one resource, as seen by one client: ignores anything that would
 * go backwards (older, duplicate, or after a terminal state), replays the latest status to
 * each new listener, and lets callers wait for a status that satisfies a predicate.
 */
export class StatusTracker {
  #latest: ResourceStatus | undefined;
  #closeError: SpoolError | undefined;
  readonly #listeners = new Set<StatusListener>();
  readonly #closeListeners = new Set<(error: SpoolError) => void>();

  get latest(): ResourceStatus | undefined {
    return this.#latest;
  }

  /** Why the underlying connection ended, once it has. */
  get closeError(): SpoolError | undefined {
    return this.#closeError;
  }

  /** Applies `status` if it moves the resource forward; returns whether it did. */
  update(status: ResourceStatus): boolean {
    if (!isStatusProgress(this.#latest, status)) return false;
    this.#latest = status;
    for (const listener of [...this.#listeners]) listener(status);
    return true;
  }

  /** No more statuses will come: pending waits that are not yet satisfied reject with `error`. */
  close(error: SpoolError): void {
    if (this.#closeError) return;
    this.#closeError = error;
    for (const listener of [...this.#closeListeners]) listener(error);
    this.#closeListeners.clear();
  }

  /** Calls `listener` once when no more statuses will come (at once if that is already so). */
  onClose(listener: (error: SpoolError) => void): () => void {
    if (this.#closeError) {
      listener(this.#closeError);
      return () => undefined;
    }
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  /** Subscribes; the latest status (if any) is replayed synchronously. */
  subscribe(listener: StatusListener): () => void {
    this.#listeners.add(listener);
    if (this.#latest) listener(this.#latest);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Resolves with the first status (the current one included) that satisfies `predicate`.
   * Rejects if the resource reaches a terminal state that does not satisfy it
   * (`UploadFailedError` for FAILED, `ResourceTerminalError` for COMPLETED), if the
   * connection ends first, on timeout or on abort.
   */
  waitFor(predicate: (status: ResourceStatus) => boolean, options: WaitForStatusOptions = {}): Promise<ResourceStatus> {
    const { timeoutMs, signal } = options;
    return settleOnce<ResourceStatus>((settle, register) => {
      register(
        this.subscribe((status) => {
          if (predicate(status)) settle(status);
          else if (status.state === 'FAILED') settle(new UploadFailedError(status.id, status.error));
          else if (isTerminal(status.state)) settle(new ResourceTerminalError(status.id, status.state));
        }),
      );
      register(this.onClose((error) => settle(error)));
      if (signal) {
        const onAbort = () => settle(signal.reason instanceof Error ? signal.reason : new Error('Wait for status aborted'));
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        register(() => signal.removeEventListener('abort', onAbort));
      }
      settleAfter(timeoutMs, settle, register, () => new TimeoutError(`No matching status within ${timeoutMs} ms`));
    });
  }
}
