import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  ContextRequiredError,
  STEP_DOWNLOAD_PATH_PREFIX,
  STEP_SERVER_CHECKSUM_HEADER,
  STEP_SERVER_CHECKSUM_VALUE,
  STEP_UPLOAD_CONTEXT_PARAM,
  STEP_UPLOAD_PATH,
} from '@spool/common';
import type { Logger } from 'winston';
import type { SpoolConfig } from '../../config/schema.js';
import { credentialOf, describePrincipal } from '../../core/access/access-control.js';
import type { SpoolCore } from '../../core/spool-core.js';
import { acceptWebSocket, type WsConnection } from '../../transport/websocket/index.js';
import { closeFrameFor } from './close-mapping.js';
import { StepDownloadHandler } from './download-handler.js';
import { StepUploadHandler } from './upload-handler.js';

export interface StepWebSocketDeps {
  core: SpoolCore;
  config: SpoolConfig;
  logger: Logger;
  /** Base of resource references (`ws://host:port`), derived per request when no public URL is set. */
  publicWsBase: (req: IncomingMessage) => string;
  /** Every accepted connection is registered so shutdown can close it with 1001. */
  track: (conn: WsConnection) => void;
}

/** Upload clients learn that this server hashes for them (see STEP_SERVER_CHECKSUM_HEADER). */
const UPLOAD_HANDSHAKE = { responseHeaders: { [STEP_SERVER_CHECKSUM_HEADER]: STEP_SERVER_CHECKSUM_VALUE } };

/**
 * The Step-compatible WebSocket face: returns an upgrade handler that takes the Step
 * paths and answers false for any other path.
 */
export function stepWebSocketFace(deps: StepWebSocketDeps) {
  const { core, config, logger } = deps;
  const connectionOptions = {
    maxTextMessageBytes: config.maxTextMessageBytes,
    pingIntervalMs: config.pingIntervalMs,
    closeTimeoutMs: config.closeTimeoutMs,
  };

  return function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const isUpload = url.pathname === STEP_UPLOAD_PATH;
    const isDownload = url.pathname.startsWith(STEP_DOWNLOAD_PATH_PREFIX);
    if (!isUpload && !isDownload) return false;
    const conn = acceptWebSocket(req, socket, head, connectionOptions, isUpload ? UPLOAD_HANDSHAKE : {});
    if (!conn) return true;
    deps.track(conn);
    const log = logger.child({ connectionId: conn.id, path: url.pathname });
    log.debug('websocket connected', { remote: req.socket.remoteAddress });

    const refuse = (err: unknown) => {
      const frame = closeFrameFor(err);
      log.warn('step connection refused', { code: frame.code, reason: frame.reason });
      conn.close(frame.code, frame.reason);
    };
    // The Java clients cannot add messages, so the credential rides on the URL or a header.
    const credential = credentialOf(req.headers, url);
    // Inbound events wait while we authorize (nothing is lost; see WsConnection).
    conn.pause();

    if (isUpload) {
      const contextId = url.searchParams.get(STEP_UPLOAD_CONTEXT_PARAM);
      if (config.requireUploadContext && !contextId) {
        refuse(new ContextRequiredError());
        return true;
      }
      const base = deps.publicWsBase(req);
      void (async () => {
        const principal = await core.access.authenticate(credential);
        await core.access.authorize(principal, 'create');
        new StepUploadHandler(conn, {
          core,
          contextId,
          // With access control on, the shared reference carries the resource's read token.
          referenceFor: (id, readToken) =>
            `${base}${STEP_DOWNLOAD_PATH_PREFIX}${encodeURIComponent(id)}${readToken ? `?token=${encodeURIComponent(readToken)}` : ''}`,
          logger: log.child({ principal: describePrincipal(principal) }),
        });
        conn.resume();
      })().catch(refuse);
      return true;
    }
    const id = decodeURIComponent(url.pathname.slice(STEP_DOWNLOAD_PATH_PREFIX.length));
    void (async () => {
      const principal = await core.access.authenticate(credential);
      await core.access.authorize(principal, 'read', id);
      const handler = new StepDownloadHandler(conn, core, id, log.child({ principal: describePrincipal(principal) }));
      conn.resume();
      await handler.start();
    })().catch(refuse);
    return true;
  };
}
