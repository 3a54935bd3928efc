import { type DownloadClient, locationUri, RemoteResource, type ResourceLocation } from '@spool/client-download';
import { resolveDownloadClientOptions, type WebSocketDownloadClientOptions } from './client-options.js';
import { StepDownloadTransport } from './step-download-transport.js';

export type StepDownloadClientOptions = WebSocketDownloadClientOptions;

/**
 * Opens resources over the Step-compatible WebSocket protocol; works with Spool servers
 * and the Java Step server alike.
 *
 * @example
 * const resource = await new StepDownloadClient().open(upload.reference);
 * for await (const line of resource.followLines()) process.stdout.write(line);
 * await resource.close();
 */
export class StepDownloadClient implements DownloadClient {
  readonly #options: StepDownloadClientOptions;

  constructor(options: StepDownloadClientOptions = {}) {
    this.#options = options;
  }

  /**
   * Connects to the resource's download URI and resolves once its first status arrived.
   * @throws ResourceNotFoundError for an unknown resource (close 1008 "Unknown resource …" or HTTP 404).
   * @throws ConnectionClosedError, TimeoutError.
   */
  async open(location: ResourceLocation): Promise<RemoteResource> {
    const options = resolveDownloadClientOptions(this.#options);
    const transport = await StepDownloadTransport.connect(locationUri(location), options);
    return RemoteResource.open(transport, { ...options.resource, timeoutMs: options.openTimeoutMs });
  }
}
