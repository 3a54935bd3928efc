import type { ResourceStatus } from '@spool/common';
import type { Request, Response } from 'express';
import type { SpoolConfig } from '../../config/schema.js';
import { statusOf } from '../../core/spool-core.js';
import type { ResourceRecord } from '../../core/types.js';
import { type BodyStream, type HttpCompression, plainBody } from '../../transport/http/compression.js';
import { isCompressible } from '../../transport/http/mime-type.js';
import type { HttpContext as UploadContext } from '../shared/http/http-context.js';
import type { IssuedTokens } from '../shared/http/sessions.js';
import type { ResourceRefs } from '../shared/resource-refs.js';
import type { LoadedResource } from '../shared/resource-view.js';
import { type ResourceJson, resourceJson, resourcePath } from './resource-json.js';

// Shared with the other protocols; re-exported so the HTTP routes keep one import point.
export { type LoadedResource, loadResource } from '../shared/resource-view.js';
/** What every route of the HTTP API works with: the upload context of every HTTP protocol, and more. */
export interface HttpContext extends UploadContext {
  /** Resolves the resource reference of a request once, for its access rule and its handler. */
  refs: ResourceRefs;
  /** gzip for the clients that accept it (JSON, line pages, progressive text, follow, SSE). */
  compression: HttpCompression;
}
/** The body of a streaming answer carrying a resource's bytes: gzip for text, when the client accepts it. */
export function openBody(
  ctx: Pick<HttpContext, 'compression'>,
  req: Request,
  res: Response,
  record: Pick<ResourceRecord, 'mimeType'>,
): BodyStream {
  return isCompressible(record.mimeType) ? ctx.compression.open(req, res) : plainBody(res);
}

/** Answers with a JSON body (gzip when the client accepts it and it is worth it). */
export function sendJson(ctx: Pick<HttpContext, 'compression'>, req: Request, res: Response, status: number, body: unknown): Promise<void> {
  res.status(status);
  return ctx.compression.send(req, res, JSON.stringify(body), 'application/json; charset=utf-8');
}

/**
 * The resource reference a route's URL carries: `:id` of `/resources/:id…` — an id, or a
 * name with its slashes escaped (`ci%2F1234%2Fbuild.log`, one path segment) — or the
 * `*name` of `/names/…`, where the name's slashes stay slashes.
 */
export function refOf(req: Request): string {
  const { id, name } = req.params as { id?: string; name?: string[] | string };
  if (id !== undefined) return id;
  return Array.isArray(name) ? name.join('/') : (name ?? '');
}

/** The id of the resource the request's URL names (the lookup its access rule made, reused). */
export function resourceIdOf(ctx: Pick<HttpContext, 'refs'>, req: Request): Promise<string> {
  return ctx.refs.idFor(req, refOf(req));
}

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
 * Status headers on every resource answer: `Spool-State`, `Upload-Offset` (tus): the
 * visible size, which is also the durable one — where an appender continues — and
 * `Spool-Name` when the resource has one (names are URL-safe ASCII).
 */
export function setStatusHeaders(res: Response, status: ResourceStatus, record?: Pick<ResourceRecord, 'name'>): void {
  res.setHeader('Spool-State', status.state);
  res.setHeader('Upload-Offset', String(status.size));
  if (record?.name) res.setHeader('Spool-Name', record.name);
}

/** Answers with a resource's JSON and status headers (201 adds its Location). */
export async function respondWithResource(
  ctx: HttpContext,
  req: Request,
  res: Response,
  httpStatus: 200 | 201,
  id: string,
  status?: ResourceStatus,
  tokens?: IssuedTokens,
): Promise<void> {
  const record = await ctx.core.getRecord(id);
  const loaded = { record, status: status ?? ctx.core.activeUpload(id)?.status ?? statusOf(record) };
  setStatusHeaders(res, loaded.status, record);
  if (httpStatus === 201) res.setHeader('Location', locationOf(ctx, id));
  res.setHeader('Cache-Control', 'no-store');
  await sendJson(ctx, req, res, httpStatus, { ...jsonOf(ctx, loaded), ...tokens });
}
