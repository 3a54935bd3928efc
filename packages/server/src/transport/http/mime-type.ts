import { MIME_TYPE_PATTERN } from '@spool/common';

/** A few common extensions, so `curl -T build.log URL` (which sends no Content-Type) gets text/plain. */
const TYPE_BY_EXTENSION: Record<string, string> = {
  txt: 'text/plain',
  log: 'text/plain',
  out: 'text/plain',
  md: 'text/markdown',
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  html: 'text/html',
  htm: 'text/html',
  css: 'text/css',
  xml: 'text/xml',
  yaml: 'text/yaml',
  yml: 'text/yaml',
  json: 'application/json',
  ndjson: 'application/x-ndjson',
  js: 'text/javascript',
  pdf: 'application/pdf',
  zip: 'application/zip',
  gz: 'application/gzip',
  tar: 'application/x-tar',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  svg: 'image/svg+xml',
  webp: 'image/webp',
  mp4: 'video/mp4',
  webm: 'video/webm',
  mkv: 'video/x-matroska',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  wav: 'audio/wav',
  flac: 'audio/flac',
};

export const DEFAULT_MIME_TYPE = 'application/octet-stream';

/**
 * Request Content-Types that say nothing about the file: curl's default for `--data`
 * and the tus PATCH type.
 */
const UNINFORMATIVE = new Set(['application/x-www-form-urlencoded', 'application/offset+octet-stream']);

/** `type/subtype` of a Content-Type header value, lowercased, without parameters; undefined if absent or meaningless. */
export function mimeTypeFromContentType(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const type = (header.split(';')[0] ?? '').trim().toLowerCase();
  if (!type || UNINFORMATIVE.has(type) || !MIME_TYPE_PATTERN.test(type)) return undefined;
  return type;
}

export function guessMimeType(filename: string): string | undefined {
  const dot = filename.lastIndexOf('.');
  if (dot <= 0 || dot === filename.length - 1) return undefined;
  return TYPE_BY_EXTENSION[filename.slice(dot + 1).toLowerCase()];
}

/** Line access by default for text: logs are what lines are for. */
export function isText(mimeType: string): boolean {
  return mimeType.toLowerCase().startsWith('text/');
}

/** The response Content-Type for stored bytes: text is declared UTF-8 so browsers do not guess. */
export function responseContentType(mimeType: string): string {
  return isText(mimeType) ? `${mimeType}; charset=utf-8` : mimeType;
}
