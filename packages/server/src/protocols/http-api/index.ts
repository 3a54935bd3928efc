import { createRequire } from 'node:module';
import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { Principal } from '../../core/access/access-control.js';
import { HttpCompression } from '../../transport/http/compression.js';
import { httpErrorFor } from '../../transport/http/errors.js';
import { refuseUnknownQueryParams } from '../../transport/http/request-params.js';
import { type AccessRule, publicAccess, requires, requiresDecided } from '../access-rule.js';
import { defineProtocol, type HttpMethod, type HttpRoute } from '../protocol.js';
import { ResourceRefs } from '../shared/resource-refs.js';
import { type HttpContext, resourceIdOf } from './context.js';
import { type ApiOperation, openApiDocument } from './openapi.js';
import { type QueryParam, querySchema } from './query-params.js';
import { API_PREFIX } from './resource-json.js';
import { appendContent } from './routes/append.js';
import { contextEvents } from './routes/context-events.js';
import { CreateBodySchema, createResource } from './routes/create-resource.js';
import { statusEvents } from './routes/events.js';
import { CompleteBodySchema, completeResource, FailBodySchema, failResource } from './routes/finalize.js';
import { readLinePage } from './routes/lines.js';
import { readContent } from './routes/read-content.js';
import { deleteResource, getResource, listPermission, listResources } from './routes/resources.js';
import { uploadNamed, uploadRaw } from './routes/upload-raw.js';

// biome-ignore lint/suspicious/noExplicitAny: route handlers type their own params (Request<{ id: string }>)
type AnyHandler = (req: Request<any>, res: Response, principal: Principal) => Promise<void> | void;

/** What a route declares besides its handler: for its OpenAPI operation. */
interface RouteDoc {
  summary: string;
  /** The zod schema its JSON body is validated with. */
  body?: z.ZodType;
  /** It takes raw bytes as its body. */
  bytes?: boolean;
}

/** Where the OpenAPI description is served. */
export const OPENAPI_PATH = `${API_PREFIX}/openapi.json`;
/** The version the description is of: the server package's. */
const SPOOL_VERSION = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;

/** Parameters checksum.ts reads (an expected MD5; which checksums to compute). */
const CHECKSUM_PARAMS: QueryParam[] = ['md5', 'checksum'];
/** Parameters describing a resource being created (upload-metadata.ts). */
const METADATA_PARAMS: QueryParam[] = ['name', 'filename', 'mimeType', 'lineAccess', 'context'];
const UPLOAD_PARAMS: QueryParam[] = [...METADATA_PARAMS, ...CHECKSUM_PARAMS, 'complete'];
const CONTENT_PARAMS: QueryParam[] = ['follow', 'start', 'tail', 'download'];

/** What a page on another origin may read of the API's answers (docs/protocols/http.md). */
const EXPOSED_HEADERS = [
  'Location',
  'Link',
  'ETag',
  'Repr-Digest',
  'Last-Modified',
  'Content-Range',
  'Content-Disposition',
  'Accept-Ranges',
  'Spool-State',
  'Spool-Name',
  'Upload-Offset',
  'Spool-Lines-Start',
  'Spool-Lines-Count',
  'Spool-Lines-Total',
  'Spool-Lines-Start-Offset',
  'Spool-Lines-End-Offset',
  'X-Text-Size',
  'X-More-Data',
  'Retry-After',
  'WWW-Authenticate',
];

/**
 * The HTTP API (`/api/v1`, docs/protocols/http.md): every resource, whichever protocol
 * uploaded it, readable and writable with the conventions of curl, browsers and CI log
 * viewers (`/health` is the operations protocol's). Each route names what it needs; the host checks it (before
 * any body byte is read) and maps every error through `httpErrorFor`.
 *
 * A resource is named in a URL by its id or its name: `/resources/{ref}` takes either
 * (a name's slashes escaped as %2F: one path segment, so `/resources/{ref}/lines` stays
 * unambiguous whatever the name), and `/names/{name…}` takes a name as the path it looks
 * like — a GET there is its content, a PUT uploads it, like a file at that path.
 */
export const httpApiProtocol = defineProtocol('http-api', (deps) => {
  const operations: ApiOperation[] = [];
  /**
   * A route of the API and the query parameters it takes: any other is refused (400
   * INVALID_MESSAGE naming it) — one rule for every route, as JSON bodies refuse unknown
   * keys. The credential `token` is taken everywhere. Its OpenAPI operation is made of the same schemas.
   */
  const route = (
    method: HttpMethod,
    path: string,
    access: AccessRule<Request>,
    query: readonly QueryParam[],
    handle: AnyHandler,
    doc: RouteDoc,
  ): HttpRoute => {
    const schema = querySchema(query);
    const known = new Set(Object.keys(schema.shape));
    const describe = `${method} ${path}`;
    operations.push({ method, path, query: schema, ...doc });
    return {
      method,
      path,
      access,
      handle: (req, res, principal) => {
        refuseUnknownQueryParams(req, known, describe);
        return handle(req, res, principal);
      },
    };
  };
  const ctx: HttpContext = {
    core: deps.core,
    config: deps.config,
    logger: deps.logger,
    refs: new ResourceRefs(deps.core),
    compression: new HttpCompression({ level: deps.config.httpCompressionLevel, maxStreams: deps.config.httpMaxCompressedStreams }),
  };
  // The rule resolves the URL's reference (an id or a name) once; the handler reuses it.
  const onResource = (permission: 'read' | 'write' | 'delete') => requires<Request>(permission, (req) => resourceIdOf(ctx, req));
  const read = onResource('read');
  const write = onResource('write');
  const remove = onResource('delete');
  const create = requires<Request>('create');
  const resources = `${API_PREFIX}/resources`;
  const resource = `${resources}/:id`;
  const routes: HttpRoute[] = [
    route(
      'GET',
      resources,
      requiresDecided('list; read with `?context=`', listPermission),
      ['state', 'context', 'prefix', 'namePrefix', 'order', 'limit', 'after'],
      listResources(ctx),
      { summary: 'List resources, a page at a time' },
    ),
    route('POST', resources, create, [...METADATA_PARAMS, 'checksum'], createResource(ctx), {
      summary: 'Create an empty resource (no body or a JSON description), or upload the files of a multipart/form-data form',
      body: CreateBodySchema,
    }),
    route('PUT', `${API_PREFIX}/uploads{/:filename}`, create, UPLOAD_PARAMS, uploadRaw(ctx), {
      summary: 'Upload the body as a new resource (curl -T), readable while it arrives',
      bytes: true,
    }),
    route('GET', `${API_PREFIX}/names/*name`, read, CONTENT_PARAMS, readContent(ctx), {
      summary: 'The content of the resource holding a name (ranges, follow, tail)',
    }),
    route(
      'PUT',
      `${API_PREFIX}/names/*name`,
      create,
      UPLOAD_PARAMS.filter((param) => param !== 'name'),
      uploadNamed(ctx),
      { summary: 'Upload the body as a new resource under a name', bytes: true },
    ),
    route('GET', resource, read, [], getResource(ctx), { summary: 'A resource’s status and description' }),
    route('DELETE', resource, remove, [], deleteResource(ctx), { summary: 'Delete a resource (an upload in progress ends FAILED)' }),
    route('GET', `${resource}/content`, read, CONTENT_PARAMS, readContent(ctx), {
      summary: 'The bytes: ranges, validators, follow as it grows, tail',
    }),
    route('PATCH', `${resource}/content`, write, ['complete', ...CHECKSUM_PARAMS], appendContent(ctx), {
      summary: 'Append the body at Upload-Offset',
      bytes: true,
    }),
    route('GET', `${resource}/lines`, read, ['start', 'count', 'tail', 'format'], readLinePage(ctx), {
      summary: 'A page of lines by number, JSON or text',
    }),
    route('GET', `${resource}/events`, read, [], statusEvents(ctx), { summary: 'Status changes as server-sent events' }),
    // A context's statuses are a listing of it: read access, no resource id.
    route('GET', `${API_PREFIX}/contexts/:contextId/events`, requires('read'), [], contextEvents(ctx), {
      summary: 'Status changes of every resource of an upload context, as server-sent events',
    }),
    route('POST', `${resource}/complete`, write, CHECKSUM_PARAMS, completeResource(ctx), {
      summary: 'End an open resource as COMPLETED',
      body: CompleteBodySchema,
    }),
    route('POST', `${resource}/fail`, write, [], failResource(ctx), { summary: 'End an open resource as FAILED', body: FailBodySchema }),
  ];
  // Described by the same schemas the routes validate with; itself listed in it.
  operations.push({ method: 'GET', path: OPENAPI_PATH, query: querySchema([]), summary: 'This description (OpenAPI 3.1)' });
  const openApi = JSON.stringify(openApiDocument(operations, SPOOL_VERSION));
  routes.push({
    method: 'GET',
    path: OPENAPI_PATH,
    access: publicAccess('the API’s description (OpenAPI 3.1); names no resource'),
    handle: (req, res) => {
      refuseUnknownQueryParams(req, new Set(['token']), `GET ${OPENAPI_PATH}`);
      res.status(200).type('application/json').send(openApi);
    },
  });
  return { http: { basePath: '/', routes, errorResponse: httpErrorFor, exposedHeaders: EXPOSED_HEADERS } };
});
