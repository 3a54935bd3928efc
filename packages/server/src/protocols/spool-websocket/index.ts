import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { InvalidMessageError, SPOOL_RESOURCE_PATH_PREFIX, SPOOL_SUBPROTOCOL, SPOOL_UPLOAD_PATH } from '@spool/common';
import type { Logger } from 'winston';
import type { SpoolConfig } from '../../config/schema.js';
import { credentialOf, describePrincipal } from '../../core/access/access-control.js';
import type { SpoolCore } from '../../core/spool-core.js';
import { acceptWebSocket, type WsConnection } from '../../transport/websocket/index.js';
import { referencesFor } from './references.js';
import { refuseConnection } from './refuse.js';
import { SpoolResourceHandler } from './resource-handler.js';
import { SharedPushFrames } from './shared-push-frames.js';
import { SpoolUploadHandler } from './upload-handler.js';

export interface SpoolWebSocketDeps {
  core: SpoolCore;
  config: SpoolConfig;
  logger: Logger;
  /** Base of resource references (`ws://host:port[/prefix]`), derived per request when no public URL is set. */
  publicWsBase: (req: IncomingMessage) => string;
  /** Every accepted connection is registered so shutdown can close it with 1001. */
  track: (conn: WsConnection) => void;
}

/**
 * Spool's own WebSocket face (docs/protocols/spool-websocket.md): returns an upgrade
 * handler that takes `/ws/spool/v1/upload` and `/ws/spool/v1/resources/{id}` and answers
 * false for any other path. The credential (Bearer header or `?token=`) is authenticated
 * at the upgrade; `read` is authorized there for a resource, `create`/`write` when the
 * upload says which it is. Refusals are an `error` message then a close (1008 …).
 */
export function spoolWebSocketFace(deps: SpoolWebSocketDeps) {
  const { core, config, logger } = deps;
  const connectionOptions = {
    maxTextMessageBytes: config.maxTextMessageBytes,
    pingIntervalMs: config.pingIntervalMs,
    closeTimeoutMs: config.closeTimeoutMs,
  };
  const sharedPushFrames = new SharedPushFrames();
  const handshake = {
    selectProtocol: (offered: readonly string[]) => (offered.includes(SPOOL_SUBPROTOCOL) ? SPOOL_SUBPROTOCOL : undefined),
  };

  return function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const isUpload = url.pathname === SPOOL_UPLOAD_PATH;
    const isResource = url.pathname.startsWith(SPOOL_RESOURCE_PATH_PREFIX);
    if (!isUpload && !isResource) return false;
    const conn = acceptWebSocket(req, socket, head, connectionOptions, handshake);
    if (!conn) return true;
    deps.track(conn);
    const log = logger.child({ connectionId: conn.id, path: url.pathname });
    log.debug('websocket connected', { remote: req.socket.remoteAddress, protocol: conn.protocol });
    // Inbound events wait while we authorize (nothing is lost; see WsConnection).
    conn.pause();
    const credential = credentialOf(req.headers, url);
    void (async () => {
      const principal = await core.access.authenticate(credential);
      const principalLog = log.child({ principal: describePrincipal(principal) });
      if (isUpload) {
        const base = deps.publicWsBase(req);
        new SpoolUploadHandler(conn, {
          core,
          principal,
          references: (id, readToken) => referencesFor(base, id, readToken),
          requireUploadContext: config.requireUploadContext,
          logger: principalLog,
        });
        conn.resume();
        return;
      }
      const id = resourceIdOf(url.pathname);
      await core.access.authorize(principal, 'read', id);
      const handler = new SpoolResourceHandler(conn, core, id, sharedPushFrames, principalLog);
      conn.resume();
      await handler.start();
    })().catch((err: unknown) => refuseConnection(conn, err, log));
    return true;
  };
}

function resourceIdOf(pathname: string): string {
  const encoded = pathname.slice(SPOOL_RESOURCE_PATH_PREFIX.length);
  try {
    const id = decodeURIComponent(encoded);
    if (id.length > 0 && !id.includes('/')) return id;
  } catch {
    // reported below
  }
  throw new InvalidMessageError(`Malformed resource id in path ${JSON.stringify(pathname)}`);
}
