import { ErrorCode, SpoolError } from '@spool/common';
import type { Request, Response } from 'express';
import type { Principal } from '../../core/access/access-control.js';
import { requires, requiresDecided } from '../access-rule.js';
import { defineProtocol, type HttpRoute, type ProtocolDeps } from '../protocol.js';
import type { TusContext } from './context.js';
import { tusErrorResponse } from './error-response.js';
import { CHECKSUM_ALGORITHMS, TUS_VERSION } from './headers.js';
import { appendToUpload } from './routes/append.js';
import { createUpload } from './routes/create.js';
import { describeUpload } from './routes/describe.js';
import { terminateUpload } from './routes/terminate.js';
import { prepareStagingDir } from './staging.js';
import { TusUploads } from './tus-uploads.js';

/** The extensions this endpoint implements, as `OPTIONS` advertises them (`Tus-Extension`). */
export const TUS_EXTENSIONS = [
  'creation',
  'creation-with-upload',
  'creation-defer-length',
  'expiration',
  'termination',
  'checksum',
  'concatenation',
] as const;

/** What a page on another origin may read of the answers: every tus header, and Spool's. */
const EXPOSED_HEADERS = [
  'Tus-Resumable',
  'Tus-Version',
  'Tus-Extension',
  'Tus-Max-Size',
  'Tus-Checksum-Algorithm',
  'Location',
  'Upload-Offset',
  'Upload-Length',
  'Upload-Metadata',
  'Upload-Defer-Length',
  'Upload-Concat',
  'Upload-Expires',
  'Spool-Resource',
  'Spool-State',
  'Spool-Write-Token',
  'Spool-Read-Token',
  'Link',
  'Retry-After',
  'WWW-Authenticate',
];

/** Rows checked per sweep tick for tus rows whose resource is gone. */
const SWEEP_BATCH = 200;

// biome-ignore lint/suspicious/noExplicitAny: route handlers type their own params (Request<{ id: string }>)
type AnyHandler = (req: Request<any>, res: Response, principal: Principal) => Promise<void> | void;

function route(method: HttpRoute['method'], path: string, access: HttpRoute['access'], handle: AnyHandler): HttpRoute {
  return { method, path, access, handle: handle as HttpRoute['handle'] };
}

/** The `OPTIONS` answer: what this endpoint speaks (the tus discovery request). */
function optionsHeaders(deps: ProtocolDeps): Record<string, string> {
  const headers: Record<string, string> = {
    'Tus-Resumable': TUS_VERSION,
    'Tus-Version': TUS_VERSION,
    'Tus-Extension': TUS_EXTENSIONS.join(','),
    'Tus-Checksum-Algorithm': Object.keys(CHECKSUM_ALGORITHMS).join(','),
  };
  if (deps.config.maxResourceBytes > 0) headers['Tus-Max-Size'] = String(deps.config.maxResourceBytes);
  return headers;
}

/**
 * Drops tus rows whose resource is gone (deleted through another protocol, retention),
 * a batch per tick, resuming after the last id seen.
 */
function orphanSweeper(ctx: TusContext): () => Promise<void> {
  let after = '';
  return async () => {
    const ids = ctx.uploads.idsAfter(after, SWEEP_BATCH);
    after = ids.length < SWEEP_BATCH ? '' : (ids.at(-1) ?? '');
    for (const id of ids) {
      await ctx.core.getRecord(id).catch((err: unknown) => {
        if (err instanceof SpoolError && err.code === ErrorCode.RESOURCE_NOT_FOUND) ctx.uploads.delete(id);
      });
    }
  };
}

/**
 * tus 1.0.0 (https://tus.io/protocols/resumable-upload) at `tusBasePath` (docs/protocols/tus.md):
 * tus-js-client, Uppy and any tus client upload resumably, and every upload is a Spool
 * resource from its creation — any reader may follow it over HTTP or WebSocket while the
 * client is still sending it. Each route names what it needs; the host checks it.
 */
export const tusProtocol = defineProtocol('tus', (deps) => {
  const basePath = deps.config.tusBasePath.replace(/\/+$/, '');
  const ctx: TusContext = {
    core: deps.core,
    config: deps.config,
    logger: deps.logger,
    urls: deps.urls,
    uploads: TusUploads.inDataDir(deps.config.dataDir),
    basePath,
    stagingDir: prepareStagingDir(deps.config.dataDir),
  };
  const id = (req: Request): string | undefined => req.params.id as string | undefined;
  const sweep = orphanSweeper(ctx);
  let sweeping: Promise<void> | undefined;
  const sweeper = setInterval(() => {
    sweeping ??= sweep()
      .catch((err: Error) => {
        deps.logger.warn('tus sweep failed', { error: err.message });
      })
      .finally(() => {
        sweeping = undefined;
      });
  }, deps.config.sweepIntervalMs);
  sweeper.unref();
  const routes: HttpRoute[] = [
    // A final upload (Upload-Concat: final) also reads each partial it names: checked per partial (READ_PARTIAL).
    route(
      'POST',
      '/',
      requiresDecided('create (a final concatenation: also read of each partial)', () => ({ permission: 'create' })),
      createUpload(ctx),
    ),
    route('HEAD', '/:id', requires('read', id), describeUpload(ctx)),
    route('PATCH', '/:id', requires('write', id), appendToUpload(ctx)),
    route('DELETE', '/:id', requires('delete', id), terminateUpload(ctx)),
  ];
  return {
    http: {
      basePath,
      routes,
      errorResponse: tusErrorResponse,
      exposedHeaders: EXPOSED_HEADERS,
      optionsHeaders: optionsHeaders(deps),
      methodOverride: true,
    },
    stop: async () => {
      clearInterval(sweeper);
      await sweeping;
      ctx.uploads.close();
    },
  };
});
