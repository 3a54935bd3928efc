import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_MIME_TYPE,
  describeZodError,
  guessMimeType,
  InvalidMetadataError,
  isTextLike,
  looksLikeText,
  type ResourceMetadata,
  ResourceMetadataSchema,
  SNIFFED_TEXT_MIME_TYPE,
} from '@spool/common';
import { uploadFrames } from './frames.js';
import type { UploadRequest, UploadSource } from './types.js';
import { sourceFailure } from './upload-source.js';

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
 * The type a request or its file name says: `mimeType`, text/plain for a `sourceCharset`,
 * the extension's type (`build.log` → text/plain); undefined when nothing says.
 */
function toldMimeType(request: UploadRequest, filename: string): string | undefined {
  return request.mimeType ?? (request.sourceCharset ? DEFAULT_TEXT_MIME_TYPE : guessMimeType(filename));
}

function validated(metadata: ResourceMetadata): ResourceMetadata {
  const parsed = ResourceMetadataSchema.safeParse(metadata);
  if (!parsed.success) {
    throw new InvalidMetadataError(describeZodError(parsed.error), { filename: metadata.filename, mimeType: metadata.mimeType });
  }
  return parsed.data;
}

function filenameOf(source: UploadSource, request: UploadRequest): string {
  const path = sourceFilePath(source);
  const filename = request.filename ?? (path === undefined ? undefined : basename(path));
  if (filename === undefined) throw new InvalidMetadataError('filename is required when the source is not a file path');
  return filename;
}

/**
 * Completes an {@link UploadRequest} with its defaults and validates it against the
 * wire schema, so a bad filename or MIME type fails before any connection is made. The
 * type comes from the request or the file name, else application/octet-stream (see
 * {@link prepareUpload}, which looks at the first bytes instead); line access is on for
 * text-like types.
 * @throws InvalidMetadataError
 */
export function resolveUploadMetadata(source: UploadSource, request: UploadRequest = {}): ResourceMetadata {
  const filename = filenameOf(source, request);
  const mimeType = toldMimeType(request, filename) ?? DEFAULT_MIME_TYPE;
  return validated({ filename, mimeType, supportsLineAccess: request.supportsLineAccess ?? isTextLike(mimeType) });
}

/** An upload ready to start: its metadata, its frames, and its size when known. */
export interface PreparedUpload {
  metadata: ResourceMetadata;
  frames: AsyncGenerator<Buffer>;
  /** The source's size when known before reading it (a file path, a buffer; not with transcoding). */
  totalBytes: number | undefined;
}

/**
 * What an upload sends: its metadata (as {@link resolveUploadMetadata}, except that a type
 * nothing tells is decided by the first bytes: text/plain if they look like text — a
 * log without an extension still gets line access — else application/octet-stream) and
 * its frames (see `uploadFrames`; a first frame read to decide is sent as usual).
 * @throws InvalidMetadataError before reading anything; a source that cannot be read
 *   for the first bytes rejects like a failing upload (`UploadAbortedError`).
 */
export async function prepareUpload(source: UploadSource, request: UploadRequest, frameSize: number): Promise<PreparedUpload> {
  const filename = filenameOf(source, request);
  const told = toldMimeType(request, filename);
  // The filename and a told type are checked before anything is read.
  validated({ filename, mimeType: told ?? DEFAULT_MIME_TYPE, supportsLineAccess: false });
  const totalBytes = request.sourceCharset === undefined ? await sourceSize(source) : undefined;
  let frames = uploadFrames(source, request, frameSize);
  let mimeType = told;
  if (mimeType === undefined) {
    let first: IteratorResult<Buffer>;
    try {
      first = await frames.next();
    } catch (error) {
      throw sourceFailure(error);
    }
    mimeType = !first.done && looksLikeText(first.value) ? SNIFFED_TEXT_MIME_TYPE : DEFAULT_MIME_TYPE;
    frames = prepend(first, frames);
  }
  const metadata = validated({ filename, mimeType, supportsLineAccess: request.supportsLineAccess ?? isTextLike(mimeType) });
  return { metadata, frames, totalBytes };
}

async function* prepend(first: IteratorResult<Buffer>, rest: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  if (first.done) return;
  yield first.value;
  yield* rest;
}

/** The size of a source that has one before it is read: a file (not a growing one) or bytes in memory. */
async function sourceSize(source: UploadSource): Promise<number | undefined> {
  if (source instanceof Uint8Array) return source.byteLength;
  if (typeof source === 'string' || source instanceof URL) {
    try {
      return (await stat(source)).size;
    } catch {
      return undefined; // reading it will say why
    }
  }
  return undefined;
}
