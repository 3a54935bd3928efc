import type { Socket } from 'node:net';
import cors from 'cors';
import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Logger } from 'winston';
import { type AccessControl, credentialFrom, describePrincipal } from '../core/access/access-control.js';
import { redactTarget } from '../core/redact-url.js';
import { enforce } from '../protocols/access-rule.js';
import type { HttpMount, HttpRoute, Protocol } from '../protocols/protocol.js';
import { errorHandler, methodNotAllowed, notFound } from '../transport/http/errors.js';
import { NO_PROTOCOL, type ServerMetrics } from './metrics.js';
import { bytesSince, requestIdOf } from './request-log.js';

/** One mounted route, as the host exposes it (docs, the access-control test). */
export interface MountedRoute {
  readonly protocol: string;
  /** Full path template (`/api/v1/resources/:id`). */
  readonly path: string;
  readonly route: HttpRoute;
}

export interface HttpAppDeps {
  access: AccessControl;
  loggerOf: (protocol: Protocol) => Logger;
  logger: Logger;
  isRefused: (socket: Socket) => boolean;
  metrics: ServerMetrics;
  /** See `corsOrigins` in the config. */
  corsOrigins: string;
}

/** `?token=` of a request, without parsing its target (which may not be a valid URL). */
function tokenParam(req: Request): string | undefined {
  const value: unknown = (req.query as Record<string, unknown>).token;
  if (Array.isArray(value)) return typeof value[0] === 'string' ? value[0] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** What a route's path names (`:id`, `*name`, `:contextId`), for the request's log line. */
function resourceParam(req: Request): string | undefined {
  const params = req.params as Record<string, string | string[] | undefined>;
  const value = params.id ?? params.name ?? params.contextId;
  return Array.isArray(value) ? value.join('/') : value;
}

/**
 * One structured line per finished request, its metrics, and its id echoed in
 * `X-Request-Id` (a proxy's sane one kept). Never a credential: the target's `token`
 * is hidden, headers are not logged.
 */
function requestLog(deps: HttpAppDeps): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    const requestId = requestIdOf(req);
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    const bytes = bytesSince(req.socket);
    res.once('close', () => {
      const protocol: string = res.locals.protocol ?? NO_PROTOCOL;
      const seconds = (performance.now() - started) / 1000;
      deps.metrics.httpRequests.inc({ protocol, method: req.method, status: String(res.statusCode) });
      deps.metrics.httpSeconds.observe({ protocol }, seconds);
      deps.logger.info('http request', {
        requestId,
        protocol,
        method: req.method,
        target: redactTarget(req.originalUrl),
        resource: res.locals.resource,
        status: res.statusCode,
        outcome: res.writableFinished ? 'finished' : 'aborted',
        ...bytes(),
        durationMs: Math.round(seconds * 1000),
        remote: req.socket.remoteAddress,
        principal: res.locals.principal,
      });
    });
    next();
  };
}

/**
 * The one HTTP dispatcher: the route's access rule, then its handler. Whatever either
 * throws or rejects goes to the mount's error mapping; nothing escapes.
 */
function dispatch(access: AccessControl, mount: HttpMount, route: HttpRoute): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      const standard = credentialFrom(req.headers.authorization, tokenParam(req));
      const credential = mount.credential ? mount.credential(req, standard) : standard;
      res.locals.resource = resourceParam(req);
      const principal = await enforce(access, route.access, credential, req);
      res.locals.principal = describePrincipal(principal);
      await route.handle(req, res, principal);
    } catch (err) {
      next(err);
    }
  };
}

/**
 * CORS for a mount's routes (config `corsOrigins`): browsers on the allowed origins may
 * call them, send any header (Authorization, Tus-Resumable …) and read the mount's
 * exposed headers; a preflight is answered 204 before any access rule (it carries no
 * credential by design). Bearer tokens are not ambient credentials, so `*` opens no
 * door a token does not. An OPTIONS that is no preflight (no
 * `Access-Control-Request-Method`) goes on to the host's own answer (`Allow`, the
 * mount's `optionsHeaders`).
 */
function corsFor(origins: string, mount: HttpMount): RequestHandler | undefined {
  const list = origins
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
  if (list.length === 0) return undefined;
  const options = {
    origin: list.includes('*') ? '*' : list,
    exposedHeaders: [...(mount.exposedHeaders ?? []), 'X-Request-Id'],
    maxAge: 600,
  };
  const preflight = cors(options);
  const other = cors({ ...options, preflightContinue: true });
  return (req, res, next) =>
    (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined ? preflight : other)(req, res, next);
}

/** A POST routed as the method its `X-HTTP-Method-Override` names (see `HttpMount.methodOverride`). */
function overrideMethod(req: Request, _res: Response, next: NextFunction): void {
  const override = req.headers['x-http-method-override'];
  if (req.method === 'POST' && typeof override === 'string' && override.trim() !== '') req.method = override.trim().toUpperCase();
  next();
}

function routerFor(deps: HttpAppDeps, protocol: string, mount: HttpMount, logger: Logger): Router {
  const { access } = deps;
  const router = express.Router({ strict: false });
  const claim = (req: Request, res: Response, next: NextFunction) => {
    res.locals.protocol = protocol;
    deps.metrics.attribute(req.socket, protocol);
    next();
  };
  if (mount.methodOverride) router.use(overrideMethod);
  const corsHandler = corsFor(deps.corsOrigins, mount);
  const byPath = new Map<string, HttpRoute[]>();
  for (const route of mount.routes) {
    const routes = byPath.get(route.path) ?? [];
    routes.push(route);
    byPath.set(route.path, routes);
  }
  for (const [path, routes] of byPath) {
    const chain = router.route(path);
    chain.all(claim);
    if (corsHandler) chain.all(corsHandler);
    const allowed = new Set<string>();
    for (const route of routes) {
      chain[route.method.toLowerCase() as 'get' | 'head' | 'put' | 'post' | 'patch' | 'delete'](dispatch(access, mount, route));
      allowed.add(route.method);
      if (route.method === 'GET') allowed.add('HEAD');
    }
    // OPTIONS (answered with Allow) and other methods: 405 with Allow, through the mount's mapping.
    chain.all(methodNotAllowed([...allowed], mount.optionsHeaders));
  }
  router.use(errorHandler(logger, mount.errorResponse) as (err: unknown, req: Request, res: Response, next: NextFunction) => void);
  return router;
}

/**
 * The express app serving every protocol's HTTP mount: longer base paths first, then
 * the server's JSON 404 for any other path.
 */
export function createHttpApp(protocols: readonly Protocol[], deps: HttpAppDeps) {
  const { loggerOf, logger } = deps;
  const app: Express = express();
  app.disable('x-powered-by');
  // Bodies are streamed by the routes; hashing JSON answers for weak ETags is wasted work.
  app.set('etag', false);
  // A socket refused at the connection limit was answered 503 already; what it sent is not served.
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (deps.isRefused(req.socket)) res.destroy();
    else next();
  });
  app.use(requestLog(deps));
  const withHttp = protocols.filter((p) => p.http !== undefined);
  const baseOf = (protocol: Protocol) => (protocol.http as HttpMount).basePath.replace(/\/+$/, '');
  // Mounted longest base path first; listed in the protocols' order (docs, tests).
  for (const protocol of [...withHttp].sort((a, b) => baseOf(b).length - baseOf(a).length)) {
    const base = baseOf(protocol);
    app.use(base === '' ? '/' : base, routerFor(deps, protocol.name, protocol.http as HttpMount, loggerOf(protocol)));
  }
  const mounted: MountedRoute[] = withHttp.flatMap((protocol) =>
    (protocol.http as HttpMount).routes.map((route) => ({ protocol: protocol.name, path: `${baseOf(protocol)}${route.path}`, route })),
  );
  app.use(notFound);
  app.use(errorHandler(logger) as (err: unknown, req: Request, res: Response, next: NextFunction) => void);
  return { app, routes: mounted as readonly MountedRoute[] };
}
