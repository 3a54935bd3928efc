import { createDownloadClient, type RemoteResource } from '@spool/impl-websocket';
import { authHeaders } from './http.js';
import type { ResourceRef } from './ref.js';

/** Opens a resource with the WebSocket SDK (Spool protocol: push-follow, reconnects). */
export async function openResource(ref: ResourceRef): Promise<RemoteResource> {
  const client = createDownloadClient({ url: ref.server, headers: authHeaders(ref.token) });
  return client.open(ref.resource);
}

/** Runs `use` on the opened resource and closes it whatever happens. */
export async function withResource<T>(ref: ResourceRef, use: (resource: RemoteResource) => Promise<T>): Promise<T> {
  const resource = await openResource(ref);
  try {
    return await use(resource);
  } finally {
    await resource.close().catch(() => undefined);
  }
}
