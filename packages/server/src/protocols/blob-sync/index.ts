import type { Request, Response } from 'express';
import type { Principal } from '../../core/access/access-control.js';
import { requiresDecided, requiresOwner } from '../access-rule.js';
import { defineProtocol, type HttpMethod, type HttpRoute } from '../protocol.js';
import { blobOwnerOfName, pathUser } from './blob-names.js';
import { BlobSpace, RESOURCE_ID_HEADER } from './blob-space.js';
import type { BlobContext } from './context.js';
import { blobCredential } from './credential.js';
import { blobErrorFor } from './errors.js';
import { BlobQuota } from './quota.js';
import { deleteBlob, getBlob, putBlob, setBlobFlags, TAG_HEADER } from './routes/blob.js';
import { listBlobs } from './routes/list.js';
import { streamBlobs, streamRequirement } from './routes/stream.js';

export { BLOB_NAME_ROOT, blobOwnerOfName } from './blob-names.js';

type Handler = (req: Request, res: Response, principal: Principal) => Promise<void> | void;

/** What a page on another origin may read of the blob API's answers. */
const EXPOSED_HEADERS = [TAG_HEADER, RESOURCE_ID_HEADER, 'Content-Range', 'Accept-Ranges', 'ETag', 'Last-Modified', 'WWW-Authenticate'];

/**
 * The blob API of LEAP Soledad, byte-compatible (docs/protocols/blob-sync.md): per-user,
 * per-namespace opaque blobs, one at a time (`blobs/{user}/{id}`) or any number in one
 * streamed request each way (`stream/{user}/`), all under `blobBasePath` (default
 * `/blob-sync/`) so a Soledad client configured with `http://host/blob-sync/` works
 * unchanged. Every blob is a core resource (`blob-sync/<user>/<namespace>/<id>`): the HTTP
 * API and the WebSocket protocols read and follow it by its id. A user's blobs are theirs
 * alone: each route needs its permission on what belongs to the path's user
 * (`requiresOwner`; credentials also as Soledad's `Authorization: Token`).
 */
export const blobSyncProtocol = defineProtocol(
  'blob-sync',
  (deps) => {
    const blobs = deps.metrics.counter('blobs_total', 'Blobs created, discarded unfinished, or removed', ['event']);
    const ctx: BlobContext = {
      core: deps.core,
      config: deps.config,
      logger: deps.logger,
      space: new BlobSpace(deps.core, deps.logger, (event) => blobs.inc({ event })),
      quota: new BlobQuota(deps.core, deps.config.blobQuotaBytes),
    };
    const route = (method: HttpMethod, path: string, access: HttpRoute['access'], handle: (ctx: BlobContext) => Handler): HttpRoute => ({
      method,
      path,
      access,
      handle: handle(ctx),
    });
    const own = (permission: 'create' | 'read' | 'write' | 'list' | 'delete') =>
      requiresOwner<Request>(permission, pathUser, `${permission} (own blobs)`);
    const routes: HttpRoute[] = [
      route(
        'POST',
        '/stream/:user',
        requiresDecided('read (own blobs) to download, create (own blobs) to upload', streamRequirement),
        streamBlobs,
      ),
      route('GET', '/blobs/:user', own('list'), listBlobs),
      route('PUT', '/blobs/:user/:blobId', own('create'), putBlob),
      route('GET', '/blobs/:user/:blobId', own('read'), getBlob),
      route('POST', '/blobs/:user/:blobId', own('write'), setBlobFlags),
      route('DELETE', '/blobs/:user/:blobId', own('delete'), deleteBlob),
    ];
    return {
      http: {
        basePath: deps.config.blobBasePath,
        routes,
        errorResponse: blobErrorFor,
        exposedHeaders: EXPOSED_HEADERS,
        credential: blobCredential(deps.config.authEnabled),
      },
    };
  },
  { ownerOfName: blobOwnerOfName },
);
