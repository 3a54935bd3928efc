import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeZodError, InvalidMetadataError, type ResourceMetadata, ResourceMetadataSchema } from '@spool/common';
import type { UploadRequest, UploadSource } from './types.js';

const DEFAULT_BINARY_MIME_TYPE = 'application/octet-stream';
const DEFAULT_TEXT_MIME_TYPE = 'text/plain';

/** The file a source reads from, if it names one (a path, a `file:` URL or a {@link GrowingFile}). */
export function sourceFilePath(source: UploadSource): string | undefined {
  if (typeof source === 'string') return source;
  if (source instanceof URL) return source.protocol === 'file:' ? fileURLToPath(source) : undefined;
  if (typeof source === 'object' && source !== null && 'path' in source && typeof source.path === 'string') {
    // GrowingFile and fs.ReadStream both expose the path they read.
    return source.path;
  }
  return undefined;
}

/**
 * Completes an {@link UploadRequest} with its defaults and validates it against the
 * wire schema, so a bad filename or MIME type fails before any connection is made.
 * @throws InvalidMetadataError
 */
export function resolveUploadMetadata(source: UploadSource, request: UploadRequest = {}): ResourceMetadata {
  const path = sourceFilePath(source);
  const filename = request.filename ?? (path === undefined ? undefined : basename(path));
  if (filename === undefined) {
    throw new InvalidMetadataError('filename is required when the source is not a file path');
  }
  const mimeType = request.mimeType ?? (request.sourceCharset ? DEFAULT_TEXT_MIME_TYPE : DEFAULT_BINARY_MIME_TYPE);
  const supportsLineAccess = request.supportsLineAccess ?? mimeType.toLowerCase().startsWith('text/');
  const parsed = ResourceMetadataSchema.safeParse({ filename, mimeType, supportsLineAccess });
  if (!parsed.success) {
    throw new InvalidMetadataError(describeZodError(parsed.error), { filename, mimeType });
  }
  return parsed.data;
}
