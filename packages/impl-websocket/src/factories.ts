import { SpoolDownloadClient, type SpoolDownloadClientOptions } from './spool-download-client.js';
import { SpoolUploadClient, type SpoolUploadClientOptions } from './spool-upload-client.js';
import { StepDownloadClient, type StepDownloadClientOptions } from './step-download-client.js';
import { StepUploadClient, type StepUploadClientOptions } from './step-upload-client.js';

/** Which WebSocket protocol an SDK client speaks: Spool's own (default: resumable, push-follow) or Step's (Java Step servers). */
export type WebSocketProtocol = 'spool' | 'step';

export type UploadClientFactoryOptions =
  | ({ protocol?: 'spool' } & Omit<SpoolUploadClientOptions, 'url'>)
  | ({ protocol: 'step' } & Omit<StepUploadClientOptions, 'url'>);

export type DownloadClientFactoryOptions =
  | ({ protocol?: 'spool' } & SpoolDownloadClientOptions)
  | ({ protocol: 'step' } & StepDownloadClientOptions);

/**
 * An upload client for the server at `url` (`ws://host:port` or `http://host:port`):
 * Spool's own protocol by default (resumable), or `protocol: 'step'` for the
 * Step-compatible one (works with the Java Step server too).
 */
export function createUploadClient(
  url: string | URL,
  options?: { protocol?: 'spool' } & Omit<SpoolUploadClientOptions, 'url'>,
): SpoolUploadClient;
export function createUploadClient(
  url: string | URL,
  options: { protocol: 'step' } & Omit<StepUploadClientOptions, 'url'>,
): StepUploadClient;
export function createUploadClient(url: string | URL, options: UploadClientFactoryOptions = {}): SpoolUploadClient | StepUploadClient {
  if (options.protocol === 'step') {
    const { protocol: _step, ...step } = options;
    return new StepUploadClient({ ...step, url });
  }
  const { protocol: _spool, ...spool } = options;
  return new SpoolUploadClient({ ...spool, url });
}

/**
 * A download client (resources are addressed by their URIs): Spool's own protocol by
 * default (push-follow, reconnects), or `protocol: 'step'` for the Step-compatible one.
 */
export function createDownloadClient(options?: { protocol?: 'spool' } & SpoolDownloadClientOptions): SpoolDownloadClient;
export function createDownloadClient(options: { protocol: 'step' } & StepDownloadClientOptions): StepDownloadClient;
export function createDownloadClient(options: DownloadClientFactoryOptions = {}): SpoolDownloadClient | StepDownloadClient {
  if (options.protocol === 'step') {
    const { protocol: _step, ...step } = options;
    return new StepDownloadClient(step);
  }
  const { protocol: _spool, ...spool } = options;
  return new SpoolDownloadClient(spool);
}
