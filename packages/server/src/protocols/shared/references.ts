import { SPOOL_RESOURCE_PATH_PREFIX, type SpoolReferences, STEP_DOWNLOAD_PATH_PREFIX } from '@spool/common';

/** Path of a resource's content in the HTTP API (served by protocols/http-api). */
const httpContentPath = (id: string) => `/api/v1/resources/${encodeURIComponent(id)}/content`;

/**
 * The URIs a resource can be read at, from the WebSocket base (`ws(s)://host[/prefix]`,
 * the public URL when configured). With a read token, each carries it as `?token=`, so the
 * URI alone is a shareable read link.
 */
export function referencesFor(wsBase: string, id: string, readToken?: string): SpoolReferences {
  const query = readToken ? `?token=${encodeURIComponent(readToken)}` : '';
  const httpBase = wsBase.replace(/^ws/, 'http');
  return {
    spool: `${wsBase}${SPOOL_RESOURCE_PATH_PREFIX}${encodeURIComponent(id)}${query}`,
    step: `${wsBase}${STEP_DOWNLOAD_PATH_PREFIX}${encodeURIComponent(id)}${query}`,
    http: `${httpBase}${httpContentPath(id)}${query}`,
  };
}
