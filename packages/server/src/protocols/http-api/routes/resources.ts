import type { Request, Response } from 'express';
import { statusOf } from '../../../core/spool-core.js';
import { queryParam } from '../../../transport/http/request-params.js';
import type { Requirement } from '../../access-rule.js';
import { listFilterOf } from '../../shared/list-filter.js';
import { basePath, type HttpContext, jsonOf, loadResource, setStatusHeaders } from '../context.js';
import { API_PREFIX, resourceJson } from '../resource-json.js';

/** Listing one upload context needs read access; listing everything is for admins. */
export function listPermission(req: Request): Requirement {
  return { permission: queryParam(req, 'context') !== undefined ? 'read' : 'list' };
}

/**
 * `GET /api/v1/resources?state=&context=&prefix=&after=&limit=`: one page in creation
 * order. `nextAfter` (and a `Link: rel="next"` header) is the cursor for the next page,
 * null on the last one.
 */
export function listResources(ctx: HttpContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const filter = listFilterOf((name) => queryParam(req, name));
    const records = await ctx.core.list(filter);
    const base = basePath(ctx.config);
    const resources = records.map((record) => resourceJson(record, ctx.core.activeUpload(record.id)?.status ?? statusOf(record), base));
    const last = records[records.length - 1];
    const nextAfter = records.length === filter.limit && last ? last.id : null;
    if (nextAfter) {
      const next = new URLSearchParams();
      for (const [key, value] of Object.entries({ state: filter.state, context: filter.contextId, prefix: filter.filenamePrefix })) {
        if (value !== undefined) next.set(key, value);
      }
      next.set('after', nextAfter);
      next.set('limit', String(filter.limit));
      res.setHeader('Link', `<${base}${API_PREFIX}/resources?${next.toString()}>; rel="next"`);
    }
    res.setHeader('Cache-Control', 'no-store');
    res.json({ resources, nextAfter });
  };
}

/** `GET|HEAD /api/v1/resources/:id`: metadata and current status; `Upload-Offset` for appenders. */
export function getResource(ctx: HttpContext) {
  return async (req: Request<{ id: string }>, res: Response): Promise<void> => {
    const loaded = await loadResource(ctx.core, req.params.id);
    setStatusHeaders(res, loaded.status);
    res.setHeader('Cache-Control', 'no-store');
    res.json(jsonOf(ctx, loaded));
  };
}

/** `DELETE /api/v1/resources/:id` (admin, or the resource's write token): followers see FAILED, then it is gone. 204. */
export function deleteResource(ctx: HttpContext) {
  return async (req: Request<{ id: string }>, res: Response): Promise<void> => {
    await ctx.core.delete(req.params.id);
    ctx.logger.info('http resource deleted', { resourceId: req.params.id, principal: res.locals.principal });
    res.status(204).end();
  };
}
