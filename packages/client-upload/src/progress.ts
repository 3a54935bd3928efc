import type { UploadProgress } from './types.js';

/**
 * Tells an upload's `onProgress` listener how far it is. A listener that throws does not
 * harm the upload: its exceptions are ignored.
 */
export class ProgressReporter {
  readonly #listener: ((progress: UploadProgress) => void) | undefined;
  readonly #total: number | undefined;

  constructor(listener: ((progress: UploadProgress) => void) | undefined, total: number | undefined) {
    this.#listener = listener;
    this.#total = total;
  }

  report(bytesSent: number, bytesAcknowledged: number): void {
    if (!this.#listener) return;
    try {
      this.#listener({ bytesSent, bytesAcknowledged, bytesTotal: this.#total });
    } catch {
      // The listener's problem; the upload goes on.
    }
  }
}
