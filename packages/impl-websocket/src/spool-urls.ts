import { SPOOL_UPLOAD_PATH } from '@spool/common';
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

/** `headers` with `Authorization: Bearer <token>` replacing any other (the token then wins over any `?token=`). */
export function withBearer(headers: Record<string, string> | undefined, token: string | undefined): Record<string, string> | undefined {
  if (token === undefined) return headers;
  const kept = Object.fromEntries(Object.entries(headers ?? {}).filter(([name]) => name.toLowerCase() !== 'authorization'));
  return { ...kept, authorization: `Bearer ${token}` };
}
