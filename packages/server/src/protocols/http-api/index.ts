import type { Request, Response } from 'express';
import type { Principal } from '../../core/access/access-control.js';
import { httpErrorFor } from '../../transport/http/errors.js';
import { type AccessRule, publicAccess, requires, requiresDecided } from '../access-rule.js';
import { defineProtocol, type HttpMethod, type HttpRoute } from '../protocol.js';
import type { HttpContext } from './context.js';
import { API_PREFIX } from './resource-json.js';
import { appendContent } from './routes/append.js';
import { contextEvents } from './routes/context-events.js';
import { createResource } from './routes/create-resource.js';
import { statusEvents } from './routes/events.js';
import { completeResource, failResource } from './routes/finalize.js';
import { readLinePage } from './routes/lines.js';
import { readContent } from './routes/read-content.js';
import { deleteResource, getResource, listPermission, listResources } from './routes/resources.js';
import { uploadRaw } from './routes/upload-raw.js';

// biome-ignore lint/suspicious/noExplicitAny: route handlers type their own params (Request<{ id: string }>)
type AnyHandler = (req: Request<any>, res: Response, principal: Principal) => Promise<void> | void;

function route(method: HttpMethod, path: string, access: AccessRule<Request>, handle: AnyHandler): HttpRoute {
  return { method, path, access, handle: handle as HttpRoute['handle'] };
}

/** What a page on another origin may read of the API's answers (docs/protocols/http.md). */
const EXPOSED_HEADERS = [
  'Location',
  'Link',
  'ETag',
  'Last-Modified',
  'Content-Range',
  'Content-Disposition',
  'Accept-Ranges',
  'Spool-State',
  'Upload-Offset',
  'Spool-Lines-Start',
  'Spool-Lines-Count',
  'Spool-Lines-Total',
  'X-Text-Size',
  'X-More-Data',
  'Retry-After',
  'WWW-Authenticate',
];

/** The resource a route's `:id` names. */
const idParam = (req: Request): string | undefined => req.params.id as string | undefined;

/**
 * The HTTP API (`/api/v1`, docs/protocols/http.md): every resource, whichever protocol
 * uploaded it, readable and writable with the conventions of curl, browsers and CI log
 * viewers; and `/health`. Each route names what it needs; the host checks it (before
 * any body byte is read) and maps every error through `httpErrorFor`.
 */
export const httpApiProtocol = defineProtocol('http-api', (deps) => {
  const ctx: HttpContext = { core: deps.core, config: deps.config, logger: deps.logger };
  const read = requires<Request>('read', idParam);
  const write = requires<Request>('write', idParam);
  const remove = requires<Request>('delete', idParam);
  const create = requires<Request>('create');
  const routes: HttpRoute[] = [
    route(
      'GET',
      '/health',
      publicAccess('liveness probe; counts only for API tokens when access control is on'),
      (_req, res, principal) => {
        res.setHeader('Cache-Control', 'no-store');
        const counts = !deps.core.access.enabled || principal.kind === 'api';
        res.json(counts ? { status: 'ok', activeUploads: deps.core.activeUploads } : { status: 'ok' });
      },
    ),
    route('GET', `${API_PREFIX}/resources`, requiresDecided('list; read with `?context=`', listPermission), listResources(ctx)),
    route('POST', `${API_PREFIX}/resources`, create, createResource(ctx)),
    route('PUT', `${API_PREFIX}/uploads{/:filename}`, create, uploadRaw(ctx)),
    route('GET', `${API_PREFIX}/resources/:id`, read, getResource(ctx)),
    route('DELETE', `${API_PREFIX}/resources/:id`, remove, deleteResource(ctx)),
    route('GET', `${API_PREFIX}/resources/:id/content`, read, readContent(ctx)),
    route('PATCH', `${API_PREFIX}/resources/:id/content`, write, appendContent(ctx)),
    route('GET', `${API_PREFIX}/resources/:id/lines`, read, readLinePage(ctx)),
    route('GET', `${API_PREFIX}/resources/:id/events`, read, statusEvents(ctx)),
    // A context's statuses are a listing of it: read access, no resource id.
    route('GET', `${API_PREFIX}/contexts/:contextId/events`, requires('read'), contextEvents(ctx)),
    route('POST', `${API_PREFIX}/resources/:id/complete`, write, completeResource(ctx)),
    route('POST', `${API_PREFIX}/resources/:id/fail`, write, failResource(ctx)),
  ];
  return { http: { basePath: '/', routes, errorResponse: httpErrorFor, exposedHeaders: EXPOSED_HEADERS } };
});
