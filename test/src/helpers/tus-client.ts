/**
 * The real tus-js-client in Node, wrapped for tests: an upload as a promise, and a file
 * source whose bytes the test releases piece by piece (to prove that readers see an
 * upload while the client is still sending it, or to stop a server mid-request).
 */
import { PassThrough } from 'node:stream';
import { DetailedError, Upload, type UploadOptions } from 'tus-js-client';

export interface RunningUpload {
  upload: Upload;
  /** Settles once: onSuccess, or onError (a DetailedError when the server answered). */
  done: Promise<void>;
}

/** Starts a tus-js-client upload of `input` (no retries unless `options` asks for them). */
export function startTusUpload(input: unknown, options: UploadOptions): RunningUpload {
  let upload: Upload | undefined;
  const done = new Promise<void>((resolve, reject) => {
    upload = new Upload(input as Buffer, {
      retryDelays: null,
      ...options,
      onSuccess: (payload) => {
        options.onSuccess?.(payload);
        resolve();
      },
      onError: (error) => reject(error),
    });
  });
  done.catch(() => undefined);
  (upload as Upload).start();
  return { upload: upload as Upload, done };
}

/** The HTTP status of a tus-js-client error, and the response text it shows the user. */
export function responseOf(error: unknown): { status: number | undefined; text: string | undefined } {
  if (!(error instanceof DetailedError) || !error.originalResponse) return { status: undefined, text: undefined };
  return { status: error.originalResponse.getStatus(), text: error.originalResponse.getBody() };
}

/** The id at the end of an upload URL (`…/files/<id>`). */
export const uploadIdOf = (url: string | null): string => {
  if (!url) throw new Error('the upload has no URL yet');
  return decodeURIComponent(url.slice(url.lastIndexOf('/') + 1));
};

/**
 * A tus-js-client file source over `data` (its `fileReader` option) whose slices are
 * streams written `pieceBytes` at a time, each piece only once `gate(offset)` resolves:
 * one PATCH stays open while the test decides when the client may send more.
 */
export class GatedSource {
  readonly size: number;
  constructor(
    private readonly data: Buffer,
    private readonly pieceBytes: number,
    private readonly gate: (offset: number) => Promise<void>,
  ) {
    this.size = data.length;
  }

  /** The `fileReader` option handing out this source. */
  get fileReader(): { openFile(): Promise<GatedSource> } {
    return { openFile: async () => this };
  }

  slice(start: number, end: number): Promise<{ value: PassThrough & { size: number }; done: boolean }> {
    const stop = Math.min(end, this.size);
    const stream = Object.assign(new PassThrough(), { size: stop - start });
    void (async () => {
      for (let at = start; at < stop; at += this.pieceBytes) {
        await this.gate(at);
        if (stream.destroyed) return;
        stream.write(this.data.subarray(at, Math.min(stop, at + this.pieceBytes)));
      }
      stream.end();
    })().catch((err: unknown) => stream.destroy(err as Error));
    return Promise.resolve({ value: stream, done: stop >= this.size });
  }

  close(): void {}
}
