import { CliError, EXIT } from './exit-codes.js';
import type { ClientSettings } from './settings.js';

/** A resource a command acts on: on which server, by id or name, with which token. */
export interface ResourceRef {
  server: string;
  /** An id or a name. */
  resource: string;
  token: string | undefined;
}

/**
 * Where each URL the server hands out names its resource: the rest of the path after the
 * marker (the part before the marker is the server's base, so a `publicUrl` prefix is kept).
 */
const MARKERS: readonly { marker: string; segment: boolean }[] = [
  { marker: '/api/v1/resources/', segment: true },
  { marker: '/api/v1/names/', segment: false },
  { marker: '/ws/spool/v1/resources/', segment: false },
  { marker: '/ws/streaming/download/', segment: false },
  { marker: '/files/', segment: true },
];

/** The web page's link to a resource: `<server>/#/resources/<id or name, escaped>`. */
export const WEB_RESOURCE_HASH = '#/resources/';

export function browserUrl(server: string, resource: string, token?: string): string {
  const query = token ? `?token=${encodeURIComponent(token)}` : '';
  return `${server}/${query}${WEB_RESOURCE_HASH}${encodeURIComponent(resource)}`;
}

const httpBase = (url: URL, path: string): string => {
  const protocol = url.protocol === 'wss:' ? 'https:' : url.protocol === 'ws:' ? 'http:' : url.protocol;
  return `${protocol}//${url.host}${path.replace(/\/+$/, '')}`;
};

/** REF is an id, a name, or any URL the server hands out (HTTP, WebSocket, tus, the web page's). */
export function parseRef(ref: string, settings: ClientSettings): ResourceRef {
  if (ref === '') throw new CliError('REF is empty: give an id, a name or a URL', EXIT.USAGE);
  if (!/^(?:https?|wss?):\/\//i.test(ref)) return { server: settings.server, resource: ref, token: settings.token };
  const url = new URL(ref);
  const token = settings.token ?? url.searchParams.get('token') ?? undefined;
  if (url.hash.startsWith(WEB_RESOURCE_HASH)) {
    return { server: httpBase(url, url.pathname), resource: decodeURIComponent(url.hash.slice(WEB_RESOURCE_HASH.length)), token };
  }
  for (const { marker, segment } of MARKERS) {
    const at = url.pathname.indexOf(marker);
    if (at < 0) continue;
    const rest = url.pathname.slice(at + marker.length);
    const raw = segment ? (rest.split('/')[0] ?? '') : rest;
    const resource = decodeURIComponent(raw);
    if (resource === '') break;
    return { server: httpBase(url, url.pathname.slice(0, at)), resource, token };
  }
  throw new CliError(`${ref} is not a resource URL of a Spool server (…/api/v1/resources/<id>, …/api/v1/names/<name>, ws://…)`, EXIT.USAGE);
}
