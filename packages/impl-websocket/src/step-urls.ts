import { InvalidMetadataError, STEP_UPLOAD_CONTEXT_PARAM, STEP_UPLOAD_PATH } from '@spool/common';

/** `http(s)://` → `ws(s)://`; WebSocket URLs are returned as they are. */
export function toWebSocketUrl(url: string | URL): URL {
  const parsed = new URL(url);
  if (parsed.protocol === 'http:') parsed.protocol = 'ws:';
  else if (parsed.protocol === 'https:') parsed.protocol = 'wss:';
  else if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw new InvalidMetadataError(`Expected a ws://, wss://, http:// or https:// URL, got ${parsed.protocol}`, { url: String(url) });
  }
  return parsed;
}

/**
 * The Step upload endpoint for a server base URL (`ws://host:port`, `http://host:port/prefix`):
 * appends `/ws/streaming/upload` unless already there, and the upload context if given.
 */
export function stepUploadUrl(baseUrl: string | URL, contextId?: string): URL {
  const url = toWebSocketUrl(baseUrl);
  if (!url.pathname.endsWith(STEP_UPLOAD_PATH)) {
    url.pathname = url.pathname.replace(/\/+$/, '') + STEP_UPLOAD_PATH;
  }
  if (contextId !== undefined) url.searchParams.set(STEP_UPLOAD_CONTEXT_PARAM, contextId);
  return url;
}
