import type { RemoteResource } from './remote-resource.js';

/** Where a resource is: its download URI, or an object carrying it (such as an upload's reference). */
export type ResourceLocation = string | { readonly uri: string };

/** A transport-specific factory of {@link RemoteResource}s. */
export interface DownloadClient {
  /**
   * Connects to the resource and resolves once its first status has arrived.
   * Rejects with a typed error, e.g. `ResourceNotFoundError` for an unknown resource.
   */
  open(location: ResourceLocation): Promise<RemoteResource>;
}

/** The URI of a {@link ResourceLocation}. */
export function locationUri(location: ResourceLocation): string {
  return typeof location === 'string' ? location : location.uri;
}
