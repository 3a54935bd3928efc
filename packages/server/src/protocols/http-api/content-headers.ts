import type { ResourceStatus } from '@spool/common';
import type { Request, Response } from 'express';
import type { ResourceRecord } from '../../core/types.js';
import { contentDisposition } from '../../transport/http/content-disposition.js';
import { responseContentType } from '../../transport/http/mime-type.js';
import { parseFlag, queryParam } from '../../transport/http/request-params.js';
import { setStatusHeaders } from './context.js';

/** Types a browser renders as documents that can run script (HTML, XML, SVG). */
function canRunScript(mimeType: string): boolean {
  const type = mimeType.toLowerCase();
  return (
    type === 'text/html' || type === 'application/xhtml+xml' || type === 'text/xml' || type === 'application/xml' || type.endsWith('+xml')
  );
}

/**
 * Headers of every answer carrying a resource's bytes: its type and name from the
 * metadata (`?download=1` asks for `attachment` instead of `inline`), and — because the
 * bytes and the type are whatever an uploader sent — `nosniff`, plus a sandboxing CSP for
 * the types that can run script, so an uploaded HTML or SVG page cannot act in this
 * server's origin. (Not for the others: browsers refuse to show a PDF in a sandbox.)
 */
export function setContentHeaders(req: Request, res: Response, record: ResourceRecord, status: ResourceStatus): void {
  const download = parseFlag(queryParam(req, 'download'), 'download') ?? false;
  res.setHeader('Content-Type', responseContentType(record.mimeType));
  res.setHeader('Content-Disposition', contentDisposition(record.filename, download ? 'attachment' : 'inline'));
  res.setHeader('X-Content-Type-Options', 'nosniff');
  if (canRunScript(record.mimeType)) res.setHeader('Content-Security-Policy', 'sandbox');
  setStatusHeaders(res, status, record);
}
