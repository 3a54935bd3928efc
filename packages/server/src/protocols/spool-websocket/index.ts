import { SPOOL_RESOURCE_PATH_PREFIX, SPOOL_SUBPROTOCOL, SPOOL_UPLOAD_PATH } from '@spool/common';
import { requires } from '../access-rule.js';
import { defineProtocol, type WebSocketRequest } from '../protocol.js';
import { configuredChecksums } from '../shared/checksums.js';
import { MessageDispatcher } from '../shared/message-dispatcher.js';
import { referencesFor } from '../shared/references.js';
import { ResourceRefs } from '../shared/resource-refs.js';
import { refuseConnection } from './refuse.js';
import { SPOOL_RESOURCE_MESSAGES, SpoolResourceHandler } from './resource-handler.js';
import { SharedPushFrames } from './shared-push-frames.js';
import { SPOOL_UPLOAD_ACCESS, SPOOL_UPLOAD_MESSAGES, SpoolUploadHandler } from './upload-handler.js';

/**
 * Spool's own WebSocket protocol (docs/protocols/spool-websocket.md):
 * `/ws/spool/v1/upload` and `/ws/spool/v1/resources/{id or name}` (a name's slashes stay
 * slashes: the rest of the path is the reference), subprotocol `spool.v1`. The
 * credential (Bearer header or `?token=`) is checked once the connection is open —
 * `read` for a resource, any known credential for uploads, whose `create`/`resume` each
 * need their own permission. Refusals are an `error` message then a close (1008 …).
 */
export const spoolWebSocketProtocol = defineProtocol('spool-websocket', (deps) => {
  const { core, config } = deps;
  const sharedPushFrames = new SharedPushFrames();
  // The access rule resolves the path's id or name once; the connection reads what it authorized.
  const refs = new ResourceRefs(core);
  const resourceIdOf = (request: WebSocketRequest) => refs.idFor(request, request.rest);
  const handshake = {
    selectProtocol: (offered: readonly string[]) => (offered.includes(SPOOL_SUBPROTOCOL) ? SPOOL_SUBPROTOCOL : undefined),
  };
  return {
    websocket: [
      {
        path: SPOOL_UPLOAD_PATH,
        access: SPOOL_UPLOAD_ACCESS,
        messages: SPOOL_UPLOAD_MESSAGES.rules,
        handshake,
        refuse: refuseConnection,
        accept(conn, request, principal, logger) {
          const base = deps.urls.wsBase(request.http);
          new SpoolUploadHandler(conn, {
            core,
            messages: new MessageDispatcher(SPOOL_UPLOAD_MESSAGES, core.access, principal),
            references: (id, readToken) => referencesFor(base, id, readToken),
            requireUploadContext: config.requireUploadContext,
            checksums: configuredChecksums(config),
            logger,
          });
          conn.resume();
        },
      },
      {
        path: SPOOL_RESOURCE_PATH_PREFIX,
        prefix: true,
        access: requires('read', resourceIdOf),
        messages: SPOOL_RESOURCE_MESSAGES.rules,
        handshake,
        refuse: refuseConnection,
        async accept(conn, request, principal, logger) {
          const messages = new MessageDispatcher(SPOOL_RESOURCE_MESSAGES, core.access, principal);
          const handler = new SpoolResourceHandler(conn, core, await resourceIdOf(request), sharedPushFrames, messages, logger);
          conn.resume();
          await handler.start();
        },
      },
    ],
  };
});
