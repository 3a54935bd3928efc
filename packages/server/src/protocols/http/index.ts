import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'winston';
import type { SpoolConfig } from '../../config/schema.js';
import type { SpoolCore } from '../../core/spool-core.js';
import { requires } from './access.js';
import type { HttpContext } from './context.js';
import { errorHandler, methodNotAllowed, notFound } from './errors.js';
import { API_PREFIX } from './resource-json.js';
import { appendContent } from './routes/append.js';
import { contextEvents } from './routes/context-events.js';
import { createResource } from './routes/create-resource.js';
import { statusEvents } from './routes/events.js';
import { completeResource, failResource } from './routes/finalize.js';
import { readLinePage } from './routes/lines.js';
import { readContent } from './routes/read-content.js';
import { deleteResource, getResource, listResources } from './routes/resources.js';
import { uploadRaw } from './routes/upload-raw.js';

export { createHttpServer } from './http-server.js';

export interface HttpFaceDeps {
  core: SpoolCore;
  config: SpoolConfig;
  logger: Logger;
}

/**
 * The HTTP face (express 5): every resource, whichever protocol uploaded it, readable and
 * writable with the conventions of curl, browsers and CI log viewers. Routes are listed
 * in docs/protocols/http.md; every error leaves through errors.ts.
 */
export function createHttpFace(deps: HttpFaceDeps): Express {
  const ctx: HttpContext = { core: deps.core, config: deps.config, logger: deps.logger.child({ face: 'http' }) };
  const app = express();
  app.disable('x-powered-by');
  // Bodies are streamed by the routes; hashing JSON answers for weak ETags is wasted work.
  app.set('etag', false);

  app.get('/health', (_req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ status: 'ok', activeUploads: ctx.core.activeUploads });
  });

  // Every route checks access first (before any body byte is read), then does one thing.
  const read = requires(ctx, 'read') as RequestHandler;
  const write = requires(ctx, 'write') as RequestHandler;
  const create = requires(ctx, 'create') as RequestHandler;
  const remove = requires(ctx, 'delete') as RequestHandler;
  const api = express.Router({ strict: false });
  api
    .route('/resources')
    .get(listResources(ctx))
    .post(create, createResource(ctx))
    .all(methodNotAllowed(['GET', 'HEAD', 'POST']));
  api
    .route('/uploads{/:filename}')
    .put(create, uploadRaw(ctx) as RequestHandler)
    .all(methodNotAllowed(['PUT']));
  api
    .route('/resources/:id')
    .get(read, getResource(ctx))
    .delete(remove, deleteResource(ctx))
    .all(methodNotAllowed(['GET', 'HEAD', 'DELETE']));
  api
    .route('/resources/:id/content')
    .get(read, readContent(ctx))
    .patch(write, appendContent(ctx))
    .all(methodNotAllowed(['GET', 'HEAD', 'PATCH']));
  api
    .route('/resources/:id/lines')
    .get(read, readLinePage(ctx))
    .all(methodNotAllowed(['GET', 'HEAD']));
  api
    .route('/resources/:id/events')
    .get(read, statusEvents(ctx))
    .all(methodNotAllowed(['GET', 'HEAD']));
  api
    .route('/contexts/:contextId/events')
    .get(contextEvents(ctx))
    .all(methodNotAllowed(['GET', 'HEAD']));
  api
    .route('/resources/:id/complete')
    .post(write, completeResource(ctx))
    .all(methodNotAllowed(['POST']));
  api
    .route('/resources/:id/fail')
    .post(write, failResource(ctx))
    .all(methodNotAllowed(['POST']));
  app.use(API_PREFIX, api);

  app.use(notFound);
  app.use(errorHandler(ctx.logger) as (err: unknown, req: Request, res: Response, next: NextFunction) => void);
  return app;
}
