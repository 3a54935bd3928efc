import type { Request, Response } from 'express';
import { statusOf } from '../../../core/spool-core.js';
import type { ListFilter } from '../../../core/types.js';
import { queryParam } from '../../../transport/http/request-params.js';
import type { Requirement } from '../../access-rule.js';
import { listFilterOf } from '../../shared/list-filter.js';
import { basePath, type HttpContext, jsonOf, loadResource, resourceIdOf, sendJson, setStatusHeaders } from '../context.js';
import { API_PREFIX, resourceJson } from '../resource-json.js';

/** Listing one upload context needs read access; listing everything is for admins. */
export function listPermission(req: Request): Requirement {
  return { permission: queryParam(req, 'context') !== undefined ? 'read' : 'list' };
}

/** The filter's parameters as the query of its next page. */
function nextPageQuery(filter: ListFilter & { limit: number }, after: string): URLSearchParams {
  const next = new URLSearchParams();
  const params = {
    state: filter.state,
    context: filter.contextId,
    prefix: filter.filenamePrefix,
    namePrefix: filter.nameStartsWith,
    order: filter.order === 'desc' ? 'desc' : undefined,
  };
  for (const [key, value] of Object.entries(params)) if (value !== undefined) next.set(key, value);
  next.set('after', after);
  next.set('limit', String(filter.limit));
  return next;
}

/**
 * `GET /api/v1/resources?state=&context=&prefix=&namePrefix=&order=&after=&limit=`: one
 * page, oldest first or (`order=desc`) newest first. `nextAfter` (and a `Link:
 * rel="next"` header) is the cursor for the next page in the same order, null on the last one.
 */
export function listResources(ctx: HttpContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const filter = listFilterOf((name) => queryParam(req, name));
    const records = await ctx.core.list(filter);
    const base = basePath(ctx.config);
    const resources = records.map((record) => resourceJson(record, ctx.core.activeUpload(record.id)?.status ?? statusOf(record), base));
    const last = records[records.length - 1];
    const nextAfter = records.length === filter.limit && last ? last.id : null;
    if (nextAfter) res.setHeader('Link', `<${base}${API_PREFIX}/resources?${nextPageQuery(filter, nextAfter).toString()}>; rel="next"`);
    res.setHeader('Cache-Control', 'no-store');
    await sendJson(ctx, req, res, 200, { resources, nextAfter });
  };
}

/** `GET|HEAD /api/v1/resources/{id or name}`: metadata and current status; `Upload-Offset` for appenders. */
export function getResource(ctx: HttpContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const loaded = await loadResource(ctx.core, await resourceIdOf(ctx, req));
    setStatusHeaders(res, loaded.status, loaded.record);
    res.setHeader('Cache-Control', 'no-store');
    await sendJson(ctx, req, res, 200, jsonOf(ctx, loaded));
  };
}

/** `DELETE /api/v1/resources/{id or name}` (admin, or the resource's write token): followers see FAILED, then it is gone. 204. */
export function deleteResource(ctx: HttpContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const id = await resourceIdOf(ctx, req);
    await ctx.core.delete(id);
    ctx.logger.info('http resource deleted', { resourceId: id, principal: res.locals.principal });
    res.status(204).end();
  };
}
