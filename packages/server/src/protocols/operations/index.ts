import type { Request, Response } from 'express';
import { httpErrorFor } from '../../transport/http/errors.js';
import { refuseUnknownQueryParams } from '../../transport/http/request-params.js';
import { publicAccess, requires, secretAccess } from '../access-rule.js';
import { defineProtocol, type HttpRoute, type ProtocolDeps } from '../protocol.js';

/** How long `/ready` waits for the catalog and the storage before it calls them down. */
const PROBE_TIMEOUT_MS = 2_000;

function sendJson(res: Response, status: number, body: unknown): void {
  res.status(status).setHeader('Cache-Control', 'no-store');
  res.json(body);
}

/** `ok`, or why not (the reason is logged, not told: it may name hosts or paths). */
async function probe(deps: ProtocolDeps): Promise<{ catalog: string; storage: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ catalog?: string; storage?: string }>((resolve) => {
    timer = setTimeout(() => resolve({ catalog: 'timeout', storage: 'timeout' }), PROBE_TIMEOUT_MS);
  });
  try {
    const failed = await Promise.race([deps.core.probe(), timeout]);
    if (failed.catalog || failed.storage) deps.logger.warn('not ready', failed);
    return { catalog: failed.catalog ? 'failing' : 'ok', storage: failed.storage ? 'failing' : 'ok' };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What operators and orchestrators ask of the server itself (docs/operations.md):
 * `/health` (alive: the process answers), `/ready` (serving, and the catalog and the
 * storage answer; 503 while starting or stopping) and `/metrics` (Prometheus).
 */
export const operationsProtocol = defineProtocol('operations', (deps) => {
  const { config, core, metrics, lifecycle } = deps;
  const metricsAccess = config.metricsToken
    ? secretAccess<Request>('the metrics token (config metricsToken)', config.metricsToken)
    : requires<Request>('list');
  // Like every HTTP route: an unknown query parameter is refused (only the credential `token` is taken).
  const known = new Set(['token']);
  const routes: HttpRoute[] = [
    {
      method: 'GET',
      path: '/health',
      access: publicAccess('liveness probe; counts only for API tokens when access control is on'),
      handle: (_req, res, principal) => {
        const counts = !core.access.enabled || principal.kind === 'api';
        sendJson(res, 200, counts ? { status: 'ok', activeUploads: core.activeUploads } : { status: 'ok' });
      },
    },
    {
      method: 'GET',
      path: '/ready',
      access: publicAccess('readiness probe: serving, catalog and storage answering'),
      handle: async (_req, res) => {
        if (lifecycle.state !== 'serving') {
          sendJson(res, 503, { status: lifecycle.state });
          return;
        }
        const checks = await probe(deps);
        const ready = checks.catalog === 'ok' && checks.storage === 'ok' && (lifecycle.state as string) === 'serving';
        sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'unavailable', ...checks });
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      access: metricsAccess,
      handle: async (_req, res) => {
        const body = await metrics.registry.metrics();
        res.status(200).setHeader('Content-Type', metrics.registry.contentType);
        res.setHeader('Cache-Control', 'no-store');
        res.end(body);
      },
    },
  ];
  return {
    http: {
      basePath: '/',
      errorResponse: httpErrorFor,
      routes: routes.map((route) => ({
        ...route,
        handle: (req, res, principal) => {
          refuseUnknownQueryParams(req, known, `${route.method} ${route.path}`);
          return route.handle(req, res, principal);
        },
      })),
    },
  };
});
