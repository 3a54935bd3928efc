import type { ResourceStatus } from '@spool/common';
import type { Response } from 'express';
import type { SpoolConfig } from '../../config/schema.js';
import { statusOf } from '../../core/spool-core.js';
import type { HttpContext } from '../shared/http/http-context.js';
import type { IssuedTokens } from '../shared/http/sessions.js';
import type { LoadedResource } from '../shared/resource-view.js';
import { type ResourceJson, resourceJson, resourcePath } from './resource-json.js';

// Shared with the other protocols; re-exported so the HTTP routes keep one import point.
export { type LoadedResource, loadResource } from '../shared/resource-view.js';
export type { HttpContext };

/** Path prefix of the public URL (`https://host/spool` → `/spool`), or '' when served at the root. */
export function basePath(config: SpoolConfig): string {
  return config.publicUrl ? new URL(config.publicUrl).pathname.replace(/\/+$/, '') : '';
}

export function jsonOf(ctx: HttpContext, loaded: LoadedResource): ResourceJson {
  return resourceJson(loaded.record, loaded.status, basePath(ctx.config));
}

/** Absolute Location of a resource when the public URL is known, else the path (RFC 9110 allows relative). */
export function locationOf(ctx: HttpContext, id: string): string {
  const { publicUrl } = ctx.config;
  return publicUrl ? `${new URL(publicUrl).origin}${resourcePath(id, basePath(ctx.config))}` : resourcePath(id);
}

/**
 * Status headers on every resource answer: `Spool-State`, and `Upload-Offset` (tus):
 * the visible size, which is also the durable one — where an appender continues.
 */
export function setStatusHeaders(res: Response, status: ResourceStatus): void {
  res.setHeader('Spool-State', status.state);
  res.setHeader('Upload-Offset', String(status.size));
}

/** Answers with a resource's JSON and status headers (201 adds its Location). */
export async function respondWithResource(
  ctx: HttpContext,
  res: Response,
  httpStatus: 200 | 201,
  id: string,
  status?: ResourceStatus,
  tokens?: IssuedTokens,
): Promise<void> {
  const record = await ctx.core.getRecord(id);
  const loaded = { record, status: status ?? ctx.core.activeUpload(id)?.status ?? statusOf(record) };
  setStatusHeaders(res, loaded.status);
  if (httpStatus === 201) res.setHeader('Location', locationOf(ctx, id));
  res.setHeader('Cache-Control', 'no-store');
  res.status(httpStatus).json({ ...jsonOf(ctx, loaded), ...tokens });
}
