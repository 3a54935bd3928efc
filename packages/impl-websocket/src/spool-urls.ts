import { SPOOL_RESOURCE_PATH_PREFIX, SPOOL_UPLOAD_PATH, STEP_DOWNLOAD_PATH_PREFIX } from '@spool/common';
import { toWebSocketUrl } from './step-urls.js';

/**
 * The Spool upload endpoint for a server base URL (`ws://host:port`, `http://host:port/prefix`):
 * appends `/ws/spool/v1/upload` unless already there; a `?token=` is kept.
 */
export function spoolUploadUrl(baseUrl: string | URL): URL {
  const url = toWebSocketUrl(baseUrl);
  if (!url.pathname.endsWith(SPOOL_UPLOAD_PATH)) {
    url.pathname = url.pathname.replace(/\/+$/, '') + SPOOL_UPLOAD_PATH;
  }
  return url;
}

/** A resource's Spool endpoint and id. */
export interface SpoolResourceLocation {
  url: URL;
  id: string;
}

/**
 * The Spool resource endpoint for a resource URI: a Spool URI
 * (`…/ws/spool/v1/resources/<id>`) as it is, or a Step download URI
 * (`…/ws/streaming/download/<id>`, what uploads return as `reference.uri`) mapped to the
 * Spool path on the same server. The query (e.g. a read token) is kept.
 * @throws TypeError for any other URI.
 */
export function spoolResourceLocation(uri: string | URL): SpoolResourceLocation {
  const url = toWebSocketUrl(uri);
  for (const prefix of [SPOOL_RESOURCE_PATH_PREFIX, STEP_DOWNLOAD_PATH_PREFIX]) {
    const at = url.pathname.lastIndexOf(prefix);
    if (at < 0) continue;
    const encodedId = url.pathname.slice(at + prefix.length);
    if (encodedId.length === 0 || encodedId.includes('/')) break;
    url.pathname = `${url.pathname.slice(0, at)}${SPOOL_RESOURCE_PATH_PREFIX}${encodedId}`;
    return { url, id: decodeURIComponent(encodedId) };
  }
  throw new TypeError(`Not a resource URI (expected …/ws/spool/v1/resources/<id> or …/ws/streaming/download/<id>): ${String(uri)}`);
}

/** `headers` with `Authorization: Bearer <token>` replacing any other (the token then wins over any `?token=`). */
export function withBearer(headers: Record<string, string> | undefined, token: string | undefined): Record<string, string> | undefined {
  if (token === undefined) return headers;
  const kept = Object.fromEntries(Object.entries(headers ?? {}).filter(([name]) => name.toLowerCase() !== 'authorization'));
  return { ...kept, authorization: `Bearer ${token}` };
}
