import type { ResourceLocation } from '@spool/client-download';
import { InvalidMetadataError, SPOOL_RESOURCE_PATH_PREFIX, STEP_DOWNLOAD_PATH_PREFIX } from '@spool/common';
import { toWebSocketUrl } from './step-urls.js';

/** The HTTP API's paths that name a resource (docs/protocols/http.md). */
const HTTP_RESOURCES_PREFIX = '/api/v1/resources/';
const HTTP_NAMES_PREFIX = '/api/v1/names/';

/** A resource as a client opens it: the server it is on and how it is named there. */
export interface ParsedLocation {
  /** `ws(s)://host[:port][/prefix]`, with the location's query (a `?token=`) kept. */
  server: URL;
  /** Its id, or its name. */
  ref: string;
}

function invalid(message: string, location: unknown): InvalidMetadataError {
  return new InvalidMetadataError(message, { location: String(location) });
}

/** `ref` as a URL path: each segment percent-encoded, a name's slashes kept. */
export function refPath(ref: string): string {
  return ref.split('/').map(encodeURIComponent).join('/');
}

/** Where a URI names a resource: the path prefixes that precede its id or name, and how the reference ends. */
const MARKERS: readonly { prefix: string; oneSegment: boolean }[] = [
  { prefix: SPOOL_RESOURCE_PATH_PREFIX, oneSegment: false },
  { prefix: STEP_DOWNLOAD_PATH_PREFIX, oneSegment: false },
  { prefix: HTTP_NAMES_PREFIX, oneSegment: false },
  // `/api/v1/resources/{ref}[/content|/lines|…]`: the reference is one segment (a name's slashes escaped).
  { prefix: HTTP_RESOURCES_PREFIX, oneSegment: true },
];

function parseUri(uri: URL, original: unknown): ParsedLocation {
  const url = toWebSocketUrl(uri);
  for (const { prefix, oneSegment } of MARKERS) {
    const at = url.pathname.lastIndexOf(prefix);
    if (at < 0) continue;
    const rest = url.pathname.slice(at + prefix.length);
    const encoded = oneSegment ? (rest.split('/')[0] ?? '') : rest;
    let ref: string;
    try {
      ref = decodeURIComponent(encoded);
    } catch {
      throw invalid(`Malformed percent-encoding in ${String(original)}`, original);
    }
    if (ref === '') break;
    const server = new URL(url.href);
    server.pathname = url.pathname.slice(0, at);
    return { server, ref };
  }
  throw invalid(
    `Not a resource URI (expected …/ws/spool/v1/resources/<id or name>, …/ws/streaming/download/<id>, …/api/v1/resources/<id>[/content] or …/api/v1/names/<name>): ${String(original)}`,
    original,
  );
}

/**
 * Where `location` is: a resource URI of any protocol the server speaks — Spool's or
 * Step's WebSocket path, the HTTP content or names URL (what `reference.httpUri` is, or
 * a link copied from a browser) — an upload's reference, or an id or name (`{ id }`,
 * `{ name }`, or a plain string that is no URL) on the server at `serverUrl`.
 * @throws InvalidMetadataError if it is none of these, or names a resource without a server to look on.
 */
export function parseResourceLocation(location: ResourceLocation, serverUrl?: string | URL): ParsedLocation {
  if (location instanceof URL) return parseUri(location, location);
  if (typeof location === 'object') {
    if ('uri' in location) return parseUri(toUrl(location.uri), location.uri);
    const ref = 'id' in location ? location.id : location.name;
    return onServer(ref, serverUrl, location);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) return parseUri(toUrl(location), location);
  return onServer(location, serverUrl, location);
}

function toUrl(uri: string): URL {
  try {
    return new URL(uri);
  } catch {
    throw invalid(`Not a valid URL: ${uri}`, uri);
  }
}

function onServer(ref: string, serverUrl: string | URL | undefined, original: unknown): ParsedLocation {
  if (ref === '') throw invalid('An empty resource id or name', original);
  if (serverUrl === undefined) {
    throw invalid(`Opening ${JSON.stringify(ref)} by id or name needs the server: give the client its \`url\` option`, original);
  }
  const server = toWebSocketUrl(serverUrl);
  server.pathname = server.pathname.replace(/\/+$/, '');
  return { server, ref };
}

/** The URL of `location` under one protocol's resource path prefix (`/ws/spool/v1/resources/`, `/ws/streaming/download/`). */
export function resourceUrl(location: ParsedLocation, pathPrefix: string): URL {
  const url = new URL(location.server.href);
  url.pathname = `${location.server.pathname.replace(/\/+$/, '')}${pathPrefix}${refPath(location.ref)}`;
  return url;
}

/** The HTTP content URL (`http(s)://host[/prefix]/api/v1/resources/<ref>/content`) of a resource URI, its query kept: a link a person can open. */
export function httpContentUri(uri: string): string {
  const { server, ref } = parseResourceLocation(uri);
  const url = new URL(server.href);
  // One segment, whatever the reference: a name's slashes escaped.
  url.pathname = `${server.pathname.replace(/\/+$/, '')}${HTTP_RESOURCES_PREFIX}${encodeURIComponent(ref)}/content`;
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  return url.href;
}
