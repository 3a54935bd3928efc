import type { RemoteResource } from './remote-resource.js';

/**
 * Where a resource is: a URI (a download URI, an HTTP link), an object carrying one
 * (such as an upload's reference), or — on a client that knows its server — the
 * resource's id or name (`{ id }`, `{ name }`, or a string that is no URL).
 */
export type ResourceLocation = string | URL | { readonly uri: string } | { readonly id: string } | { readonly name: string };

/** How to open a resource. */
export interface OpenOptions {
  /** Abandons opening: rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** A transport-specific factory of {@link RemoteResource}s. */
export interface DownloadClient {
  /**
   * Connects to the resource and resolves once its first status has arrived.
   * Rejects with a typed error, e.g. `ResourceNotFoundError` for an unknown resource.
   */
  open(location: ResourceLocation, options?: OpenOptions): Promise<RemoteResource>;
}

/** The URI of a {@link ResourceLocation} that carries one. @throws TypeError for an id or a name. */
export function locationUri(location: ResourceLocation): string {
  if (typeof location === 'string') return location;
  if (location instanceof URL) return location.href;
  if ('uri' in location) return location.uri;
  throw new TypeError('An id or a name is no URI: open it with a client that knows its server');
}
