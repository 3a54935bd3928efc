import {
  DEFAULT_MIME_TYPE,
  guessMimeType,
  InvalidMessageError,
  InvalidMetadataError,
  isTextLike,
  looksLikeText,
  type ResourceMetadata,
  SNIFFED_TEXT_MIME_TYPE,
} from '@spool/common';
import type { Request } from 'express';
import { mimeTypeFromContentType } from '../../transport/http/mime-type.js';
import { headerValue, parseFlag, queryParam } from '../../transport/http/request-params.js';
import { validContextId } from '../shared/upload-context.js';

/**
 * What an upload request says about the resource it creates; the core validates the
 * metadata. `mimeType` is undefined when nothing told it: the first bytes decide
 * ({@link metadataOf}).
 */
export interface UploadDescription {
  filename: string;
  mimeType: string | undefined;
  supportsLineAccess: boolean | undefined;
  contextId: string | null;
  /** The path-like name readers may use instead of the id; null when none was chosen. */
  name: string | null;
}

/** Optional explicit values (from a JSON body or form fields) that win over the request's. */
export interface ExplicitMetadata {
  filename?: string | undefined;
  mimeType?: string | undefined;
  supportsLineAccess?: boolean | undefined;
  contextId?: string | null | undefined;
  name?: string | null | undefined;
}

function decodeHeaderText(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  try {
    // Header values are ISO-8859-1 on the wire: non-ASCII names travel percent-encoded (UTF-8).
    return decodeURIComponent(value);
  } catch {
    throw new InvalidMessageError(`${name} is not valid percent-encoding: ${JSON.stringify(value)}`);
  }
}

/**
 * Metadata of a resource created over HTTP. Each field, first found wins:
 * - name: explicit (the URL of `PUT /api/v1/names/...`), `?name=`, `Spool-Name` (percent-encoded), none;
 * - filename: explicit, `?filename=`, `Spool-Filename` (percent-encoded), the URL's last segment;
 * - mimeType: explicit, `?mimeType=`, the request's Content-Type (parameters dropped;
 *   not one that says nothing, like application/octet-stream), a guess from the
 *   filename's extension — else undefined: the first bytes decide;
 * - supportsLineAccess: explicit, `?lineAccess=`, `Spool-Line-Access`, else true for text-like types;
 * - context: explicit, `?context=`, `Spool-Context`, none.
 */
export function describeUpload(
  req: Request,
  options: { urlFilename?: string | undefined; explicit?: ExplicitMetadata; useContentType: boolean },
): UploadDescription {
  const explicit = options.explicit ?? {};
  const name = explicit.name ?? queryParam(req, 'name') ?? decodeHeaderText(headerValue(req, 'spool-name'), 'Spool-Name') ?? null;
  const filename =
    explicit.filename ??
    queryParam(req, 'filename') ??
    decodeHeaderText(headerValue(req, 'spool-filename'), 'Spool-Filename') ??
    (options.urlFilename && options.urlFilename !== '-' ? options.urlFilename : undefined);
  if (!filename) {
    throw new InvalidMetadataError(
      'Invalid metadata: filename is required (URL /api/v1/uploads/<filename>, ?filename= or the Spool-Filename header)',
    );
  }
  const mimeType =
    explicit.mimeType ??
    queryParam(req, 'mimeType') ??
    (options.useContentType ? mimeTypeFromContentType(req.headers['content-type']) : undefined) ??
    guessMimeType(filename);
  const supportsLineAccess =
    explicit.supportsLineAccess ??
    parseFlag(queryParam(req, 'lineAccess'), 'lineAccess') ??
    parseFlag(headerValue(req, 'spool-line-access'), 'Spool-Line-Access');
  const contextId = validContextId(
    explicit.contextId !== undefined ? explicit.contextId : (queryParam(req, 'context') ?? headerValue(req, 'spool-context')),
  );
  return { filename, mimeType, supportsLineAccess, contextId, name: name === '' ? null : name };
}

/**
 * The metadata of a described upload. A type nobody told is decided by `head`, the
 * first bytes of the body when there is one: text/plain if they look like text, else
 * application/octet-stream. Line access, unless told, is on for text-like types.
 */
export function metadataOf(description: UploadDescription, head?: Buffer): ResourceMetadata {
  const mimeType = description.mimeType ?? (head && looksLikeText(head) ? SNIFFED_TEXT_MIME_TYPE : DEFAULT_MIME_TYPE);
  return { filename: description.filename, mimeType, supportsLineAccess: description.supportsLineAccess ?? isTextLike(mimeType) };
}

/**
 * `Upload-Complete` (`?1` / `?0`, as in the IETF resumable-uploads draft) or `?complete=`:
 * whether this request's body ends the resource. undefined when not said.
 */
export function uploadCompleteFlag(req: Request): boolean | undefined {
  return parseFlag(queryParam(req, 'complete'), 'complete') ?? parseFlag(headerValue(req, 'upload-complete'), 'Upload-Complete');
}
