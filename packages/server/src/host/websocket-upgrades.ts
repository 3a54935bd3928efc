import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode, ErrorCode } from '@spool/common';
import type { Logger } from 'winston';
import { type AccessControl, credentialOf, describePrincipal } from '../core/access/access-control.js';
import { redactTarget } from '../core/redact-url.js';
import { enforce } from '../protocols/access-rule.js';
import type { Protocol, WebSocketEndpoint, WebSocketRequest } from '../protocols/protocol.js';
import { acceptWebSocket, rejectUpgrade, type WsConnectionOptions } from '../transport/websocket/index.js';
import type { Connections } from './connections.js';
import type { ServerMetrics } from './metrics.js';
import { bytesSince, requestIdOf } from './request-log.js';

/** One mounted endpoint, as the host exposes it (docs, the access-control test). */
export interface MountedEndpoint {
  readonly protocol: string;
  readonly endpoint: WebSocketEndpoint;
}

export interface UpgradeDeps {
  access: AccessControl;
  connections: Connections;
  connectionOptions: WsConnectionOptions;
  loggerOf: (protocol: Protocol) => Logger;
  logger: Logger;
  metrics: ServerMetrics;
}

interface Match {
  protocol: Protocol;
  endpoint: WebSocketEndpoint;
  /** Raw (still percent-encoded) rest of the path after a prefix. */
  rest: string;
}

/**
 * The one WebSocket dispatcher: finds the endpoint of an upgrade request, completes the
 * handshake, enforces the endpoint's access rule (a refusal is the protocol's close),
 * and hands the connection over. A request target `new URL()` rejects, a malformed
 * percent-encoding, or anything an endpoint throws becomes that client's 400 or close,
 * logged — never an exception out of the 'upgrade' event, which would end the process.
 */
export function createUpgradeHandler(protocols: readonly Protocol[], deps: UpgradeDeps) {
  const endpoints: MountedEndpoint[] = protocols.flatMap((protocol) =>
    (protocol.websocket ?? []).map((endpoint) => ({ protocol: protocol.name, endpoint })),
  );
  const byName = new Map(protocols.map((p) => [p.name, p]));
  // Exact paths first, then the longest prefix.
  const ordered = [...endpoints].sort(
    (a, b) => Number(a.endpoint.prefix ?? false) - Number(b.endpoint.prefix ?? false) || b.endpoint.path.length - a.endpoint.path.length,
  );

  const find = (pathname: string): Match | undefined => {
    for (const { protocol, endpoint } of ordered) {
      const rest = endpoint.prefix && pathname.startsWith(endpoint.path) ? pathname.slice(endpoint.path.length) : undefined;
      if (endpoint.prefix ? rest : pathname === endpoint.path) {
        return { protocol: byName.get(protocol) as Protocol, endpoint, rest: rest ?? '' };
      }
    }
    return undefined;
  };

  /** Sockets answered with 101: past that point an error can only cut them. */
  const upgraded = new WeakSet<Duplex>();

  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      rejectUpgrade(socket, 400, ErrorCode.INVALID_MESSAGE, 'Malformed request target');
      return;
    }
    const match = find(url.pathname);
    if (!match) {
      rejectUpgrade(socket, 404, 'NOT_FOUND', `No WebSocket endpoint at ${url.pathname}`);
      return;
    }
    let rest: string;
    try {
      rest = decodeURIComponent(match.rest);
    } catch {
      rejectUpgrade(socket, 400, ErrorCode.INVALID_MESSAGE, `Malformed percent-encoding in path ${JSON.stringify(url.pathname)}`);
      return;
    }
    const { protocol, endpoint } = match;
    const requestId = requestIdOf(req);
    const handshake = { ...endpoint.handshake, responseHeaders: { ...endpoint.handshake?.responseHeaders, 'X-Request-Id': requestId } };
    const started = performance.now();
    const bytes = bytesSince(req.socket);
    const conn = acceptWebSocket(req, socket, head, deps.connectionOptions, handshake);
    if (!conn) return;
    upgraded.add(socket);
    deps.metrics.attribute(req.socket, protocol.name);
    const forget = deps.connections.track(protocol.name, {
      goodbye: () => conn.close(CloseCode.GOING_AWAY, 'Server shutdown'),
      terminate: () => conn.terminate(),
    });
    conn.once('close', forget);
    // Inbound events wait while we authorize (nothing is lost; see WsConnection).
    conn.pause();
    const log = deps.loggerOf(protocol).child({ connectionId: conn.id, path: url.pathname, requestId });
    conn.once('close', (info: { code: number; reason: string; remote: boolean }) => {
      const outcome = info.code === CloseCode.NORMAL || info.code === CloseCode.GOING_AWAY ? 'normal' : 'error';
      deps.metrics.websocketSessions.inc({ protocol: protocol.name, outcome });
      deps.logger.info('websocket session', {
        requestId,
        protocol: protocol.name,
        target: redactTarget(req.url ?? ''),
        resource: rest || undefined,
        outcome,
        closeCode: info.code,
        closeReason: info.reason,
        closedBy: info.remote ? 'client' : 'server',
        ...bytes(),
        durationMs: Math.round(performance.now() - started),
        remote: req.socket.remoteAddress,
      });
    });
    log.debug('websocket connected', { remote: req.socket.remoteAddress, subprotocol: conn.protocol || undefined });
    const request: WebSocketRequest = { http: req, url, rest };
    void (async () => {
      const principal = await enforce(deps.access, endpoint.access, credentialOf(req.headers, url), request);
      await endpoint.accept(conn, request, principal, log.child({ principal: describePrincipal(principal) }));
    })().catch((err: unknown) => {
      try {
        endpoint.refuse(conn, err, log);
      } catch (refuseError) {
        log.error('refusing a websocket connection failed', { error: (refuseError as Error).message });
        conn.terminate();
      }
    });
  };

  return {
    endpoints: endpoints as readonly MountedEndpoint[],
    handle(req: IncomingMessage, socket: Duplex, head: Buffer): void {
      // node:http detached its own listeners at upgrade; an unhandled 'error' would crash.
      socket.on('error', () => socket.destroy());
      try {
        upgrade(req, socket, head);
      } catch (err) {
        deps.logger.error('websocket upgrade failed', { path: req.url, error: (err as Error).message });
        if (upgraded.has(socket)) socket.destroy();
        else rejectUpgrade(socket, 500, ErrorCode.INTERNAL, 'Internal server error (see the server log)');
      }
    },
  };
}
