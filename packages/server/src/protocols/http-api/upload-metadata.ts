import { InvalidMessageError, InvalidMetadataError, type ResourceMetadata } from '@spool/common';
import type { Request } from 'express';
import { DEFAULT_MIME_TYPE, guessMimeType, isText, mimeTypeFromContentType } from '../../transport/http/mime-type.js';
import { headerValue, parseFlag, queryParam } from '../../transport/http/request-params.js';
import { validContextId } from '../shared/upload-context.js';

/** What an upload request says about the resource it creates; the core validates the metadata. */
export interface UploadDescription {
  metadata: ResourceMetadata;
  contextId: string | null;
}

/** Optional explicit values (from a JSON body or form fields) that win over the request's. */
export interface ExplicitMetadata {
  filename?: string | undefined;
  mimeType?: string | undefined;
  supportsLineAccess?: boolean | undefined;
  contextId?: string | null | undefined;
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
 * - filename: explicit, `?filename=`, `Spool-Filename` (percent-encoded), the URL's last segment;
 * - mimeType: explicit, `?mimeType=`, the request's Content-Type (parameters dropped),
 *   a guess from the filename's extension, application/octet-stream;
 * - supportsLineAccess: explicit, `?lineAccess=`, `Spool-Line-Access`, true for text/*;
 * - context: explicit, `?context=`, `Spool-Context`, none.
 */
export function describeUpload(
  req: Request,
  options: { urlFilename?: string | undefined; explicit?: ExplicitMetadata; useContentType: boolean },
): UploadDescription {
  const explicit = options.explicit ?? {};
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
    guessMimeType(filename) ??
    DEFAULT_MIME_TYPE;
  const supportsLineAccess =
    explicit.supportsLineAccess ??
    parseFlag(queryParam(req, 'lineAccess'), 'lineAccess') ??
    parseFlag(headerValue(req, 'spool-line-access'), 'Spool-Line-Access') ??
    isText(mimeType);
  const contextId = validContextId(
    explicit.contextId !== undefined ? explicit.contextId : (queryParam(req, 'context') ?? headerValue(req, 'spool-context')),
  );
  return { metadata: { filename, mimeType, supportsLineAccess }, contextId };
}

/**
 * `Upload-Complete` (`?1` / `?0`, as in the IETF resumable-uploads draft) or `?complete=`:
 * whether this request's body ends the resource. undefined when not said.
 */
export function uploadCompleteFlag(req: Request): boolean | undefined {
  return parseFlag(queryParam(req, 'complete'), 'complete') ?? parseFlag(headerValue(req, 'upload-complete'), 'Upload-Complete');
}
