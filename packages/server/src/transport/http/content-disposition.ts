export type DispositionType = 'inline' | 'attachment';

/** Characters RFC 5987 `attr-char` allows unencoded (encodeURIComponent leaves ' ( ) * too). */
const NOT_ATTR_CHAR = /['()*]/g;
/** encodeURIComponent throws on these; a name from JSON may hold one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** What may stand in a quoted-string fallback without help: printable ASCII minus `"`, `\` and `%`. */
const UNSAFE_FALLBACK_CHAR = /[^\x20-\x21\x23-\x24\x26-\x5b\x5d-\x7e]/g;

/**
 * `Content-Disposition` (RFC 6266) for `filename`: an ASCII `filename="..."` every client
 * understands, plus `filename*=UTF-8''...` (RFC 8187, formerly 5987) when the name has
 * anything the fallback cannot carry (non-ASCII, quotes, backslashes, percent signs,
 * control characters), so the browser saves the exact name.
 */
export function contentDisposition(filename: string, type: DispositionType = 'inline'): string {
  const fallback = filename.replace(UNSAFE_FALLBACK_CHAR, '_');
  const header = `${type}; filename="${fallback}"`;
  if (fallback === filename) return header;
  return `${header}; filename*=UTF-8''${encodeExtValue(filename)}`;
}

/** Percent-encodes UTF-8 bytes outside `attr-char`. Lone surrogates become U+FFFD first. */
export function encodeExtValue(value: string): string {
  return encodeURIComponent(value.replace(LONE_SURROGATE, '\uFFFD')).replace(
    NOT_ATTR_CHAR,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
