import { isTextLike, MIME_TYPE_PATTERN } from '@spool/common';

/**
 * Request Content-Types that say nothing about the file: curl's default for `--data`,
 * the tus PATCH type, and `application/octet-stream` — what curl and browsers send for a
 * form file they know nothing about (`curl -F f=@build.log`). The file name and the
 * first bytes decide then; `?mimeType=` states a type outright.
 */
const UNINFORMATIVE = new Set(['application/x-www-form-urlencoded', 'application/offset+octet-stream', 'application/octet-stream']);

/** `type/subtype` of a Content-Type header value, lowercased, without parameters; undefined if absent or meaningless. */
export function mimeTypeFromContentType(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const type = (header.split(';')[0] ?? '').trim().toLowerCase();
  if (!type || UNINFORMATIVE.has(type) || !MIME_TYPE_PATTERN.test(type)) return undefined;
  return type;
}

/** The response Content-Type for stored bytes: text is declared UTF-8 so browsers do not guess. */
export function responseContentType(mimeType: string): string {
  return mimeType.toLowerCase().startsWith('text/') ? `${mimeType}; charset=utf-8` : mimeType;
}

/** Worth compressing: text-like types (logs, JSON, CSV …); media and archives are compressed already. */
export function isCompressible(mimeType: string): boolean {
  return isTextLike(mimeType);
}
