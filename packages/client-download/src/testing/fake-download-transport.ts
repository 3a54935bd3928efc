import { ConnectionClosedError, InvalidRangeError, type ResourceStatus, type SpoolError, type TransferState } from '@spool/common';
import type { DownloadTransport } from '../transport.js';

export type FakeRequest = { kind: 'chunk'; start: number; end: number } | { kind: 'lines'; start: number; count: number };

/**
 * An in-memory resource behind the {@link DownloadTransport} interface, for tests:
 * the test appends bytes and publishes statuses; requests are answered asynchronously,
 * in order, from the *published* (visible) bytes, and logged.
 */
export class FakeDownloadTransport implements DownloadTransport {
  readonly resourceId: string;
  readonly requests: FakeRequest[] = [];
  readonly #lineAccess: boolean;
  #bytes = Buffer.alloc(0);
  #visible = 0;
  #state: TransferState = 'INITIATED';
  #latest: ResourceStatus | undefined;
  #closeError: SpoolError | undefined;
  readonly #statusListeners = new Set<(status: ResourceStatus) => void>();
  readonly #closeListeners = new Set<(error: SpoolError) => void>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: { resourceId?: string; lineAccess?: boolean; publishInitial?: boolean } = {}) {
    this.resourceId = options.resourceId ?? 'fake-1';
    this.#lineAccess = options.lineAccess ?? true;
    if (options.publishInitial ?? true) this.publish();
  }

  /** Adds bytes (not yet visible) and optionally publishes them. */
  append(bytes: Buffer | string, publish = true): void {
    this.#bytes = Buffer.concat([this.#bytes, Buffer.from(bytes)]);
    if (this.#state === 'INITIATED') this.#state = 'IN_PROGRESS';
    if (publish) this.publish();
  }

  complete(): void {
    this.#state = 'COMPLETED';
    this.publish();
  }

  fail(): void {
    this.#state = 'FAILED';
    this.publish();
  }

  /** Emits a status with everything appended so far visible. */
  publish(status?: Partial<ResourceStatus>): void {
    this.#visible = this.#bytes.length;
    const terminal = this.#state === 'COMPLETED' || this.#state === 'FAILED';
    const full: ResourceStatus = {
      id: this.resourceId,
      state: this.#state,
      size: this.#visible,
      lines: this.#lineAccess ? this.#countLines(terminal) : null,
      ...status,
    };
    this.#latest = full;
    for (const listener of [...this.#statusListeners]) listener(full);
  }

  /** The connection drops. */
  disconnect(error: SpoolError = new ConnectionClosedError('Connection lost (1006)', { closeCode: 1006 })): void {
    if (this.#closeError) return;
    this.#closeError = error;
    for (const listener of [...this.#closeListeners]) listener(error);
    this.#closeListeners.clear();
  }

  onStatus(listener: (status: ResourceStatus) => void): () => void {
    this.#statusListeners.add(listener);
    if (this.#latest) listener(this.#latest);
    return () => this.#statusListeners.delete(listener);
  }

  onClose(listener: (error: SpoolError) => void): () => void {
    if (this.#closeError) {
      listener(this.#closeError);
      return () => undefined;
    }
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  requestChunk(start: number, end: number): Promise<Buffer> {
    this.requests.push({ kind: 'chunk', start, end });
    return this.#answer(() => {
      if (end > this.#visible) throw new InvalidRangeError(`[${start}, ${end}) past ${this.#visible}`);
      return Buffer.from(this.#bytes.subarray(start, end));
    });
  }

  requestLines(start: number, count: number): Promise<string[]> {
    this.requests.push({ kind: 'lines', start, count });
    return this.#answer(() => {
      const text = this.#bytes.subarray(0, this.#visible).toString('utf8');
      const lines = text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
      return lines.slice(start, start + count);
    });
  }

  async close(): Promise<void> {
    this.disconnect(new ConnectionClosedError('Connection closed by the client'));
  }

  /** Answers in order and asynchronously, like a server would. */
  #answer<T>(compute: () => T): Promise<T> {
    const reply = this.#queue.then(async () => {
      await new Promise((resolve) => setImmediate(resolve));
      if (this.#closeError) throw this.#closeError;
      return compute();
    });
    this.#queue = reply.catch(() => undefined);
    return reply;
  }

  #countLines(terminal: boolean): number {
    const visible = this.#bytes.subarray(0, this.#visible);
    let lines = 0;
    for (const byte of visible) if (byte === 0x0a) lines++;
    if (terminal && visible.length > 0 && visible[visible.length - 1] !== 0x0a) lines++;
    return lines;
  }
}
