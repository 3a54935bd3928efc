import { type DownloadClient, type OpenOptions, RemoteResource, type ResourceLocation } from '@spool/client-download';
import { STEP_DOWNLOAD_PATH_PREFIX } from '@spool/common';
import { openAbortable } from './abortable.js';
import { resolveDownloadClientOptions, type WebSocketDownloadClientOptions } from './client-options.js';
import { parseResourceLocation, resourceUrl } from './resource-location.js';
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
   * Connects to the resource and resolves once its first status arrived. Takes its
   * download URI, any other URI of it on a Spool server (the HTTP link, Spool's path:
   * mapped to the Step path of the same server), or with the `url` option its id — or,
   * on a Spool server, its name (then `resource.id` is that name: Step statuses carry no id).
   * @throws ResourceNotFoundError for an unknown resource (close 1008 "Unknown resource …" or HTTP 404).
   * @throws ConnectionClosedError, TimeoutError; the signal's reason if `options.signal` aborts first.
   * @throws InvalidMetadataError if `location` is no resource URI (or an id or name without the `url` option).
   */
  async open(location: ResourceLocation, options: OpenOptions = {}): Promise<RemoteResource> {
    const parsed = parseResourceLocation(location, this.#options.url);
    const resolved = resolveDownloadClientOptions(this.#options);
    const opening = (async () => {
      const transport = await StepDownloadTransport.connect(resourceUrl(parsed, STEP_DOWNLOAD_PATH_PREFIX), parsed.ref, resolved);
      return RemoteResource.open(transport, { ...resolved.resource, timeoutMs: resolved.openTimeoutMs });
    })();
    return openAbortable(opening, options.signal);
  }
}
