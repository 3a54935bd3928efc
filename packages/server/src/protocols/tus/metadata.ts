import type { ResourceMetadata } from '@spool/common';
import { DEFAULT_MIME_TYPE, guessMimeType, isTextLike } from '@spool/common';
import { mimeTypeFromContentType } from '../../transport/http/mime-type.js';

/** The filename of an upload whose metadata names none. */
export const DEFAULT_FILENAME = 'upload';
/** … and of a partial upload (tus-js-client sends partials without metadata by default). */
export const DEFAULT_PARTIAL_FILENAME = 'upload.part';

function text(pairs: ReadonlyMap<string, Buffer>, ...keys: string[]): string | undefined {
  for (const key of keys) {
    const value = pairs.get(key);
    if (value !== undefined && value.length > 0) return value.toString('utf8').trim();
  }
  return undefined;
}

/**
 * Spool's metadata from tus `Upload-Metadata` pairs: `filename` (or Uppy's `name`; its
 * last path segment, as browsers may send a path), `filetype` (or `type`; parameters
 * dropped, else a guess from the filename's extension, else application/octet-stream).
 * Line access for text types, as over HTTP. Other keys are kept for HEAD only.
 */
export function spoolMetadata(pairs: ReadonlyMap<string, Buffer>, partial: boolean): ResourceMetadata {
  const named = text(pairs, 'filename', 'name');
  const filename = named?.split(/[/\\]/).pop()?.trim() || (partial ? DEFAULT_PARTIAL_FILENAME : DEFAULT_FILENAME);
  const mimeType = mimeTypeFromContentType(text(pairs, 'filetype', 'type')) ?? guessMimeType(filename) ?? DEFAULT_MIME_TYPE;
  return { filename, mimeType, supportsLineAccess: isTextLike(mimeType) };
}
