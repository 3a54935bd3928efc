import {
  ContextRequiredError,
  STEP_DOWNLOAD_PATH_PREFIX,
  STEP_SERVER_CHECKSUM_HEADER,
  STEP_SERVER_CHECKSUM_VALUE,
  STEP_UPLOAD_CONTEXT_PARAM,
  STEP_UPLOAD_PATH,
} from '@spool/common';
import type { Logger } from 'winston';
import type { WsConnection } from '../../transport/websocket/index.js';
import { requires } from '../access-rule.js';
import { defineProtocol, type WebSocketRequest } from '../protocol.js';
import { MessageDispatcher } from '../shared/message-dispatcher.js';
import { ResourceRefs } from '../shared/resource-refs.js';
import { closeFrameFor } from './close-mapping.js';
import { STEP_DOWNLOAD_MESSAGES, StepDownloadHandler } from './download-handler.js';
import { STEP_UPLOAD_MESSAGES, StepUploadHandler } from './upload-handler.js';

/** Upload clients learn that this server hashes for them (see STEP_SERVER_CHECKSUM_HEADER). */
const UPLOAD_HANDSHAKE = { responseHeaders: { [STEP_SERVER_CHECKSUM_HEADER]: STEP_SERVER_CHECKSUM_VALUE } };

function refuse(conn: WsConnection, err: unknown, logger: Logger): void {
  const frame = closeFrameFor(err);
  logger.warn('step connection refused', { code: frame.code, reason: frame.reason });
  conn.close(frame.code, frame.reason);
}

/**
 * The Step-compatible WebSocket protocol (docs/protocols/step-websocket.md), byte for
 * byte what Step's Java clients speak. They cannot add messages, so the credential rides
 * on the URL (`?token=`) or a header, and each connection is authorized once it is open:
 * a refusal is a close (1008), which the Java client reports.
 */
export const stepWebSocketProtocol = defineProtocol('step-websocket', (deps) => {
  const { core, config } = deps;
  // A download path names a resource by id (what Step references carry) or by name.
  const refs = new ResourceRefs(core);
  const resourceIdOf = (request: WebSocketRequest) => refs.idFor(request, request.rest);
  return {
    websocket: [
      {
        path: STEP_UPLOAD_PATH,
        access: requires('create'),
        messages: STEP_UPLOAD_MESSAGES.rules,
        handshake: UPLOAD_HANDSHAKE,
        refuse,
        accept(conn: WsConnection, request: WebSocketRequest, principal, logger) {
          const contextId = request.url.searchParams.get(STEP_UPLOAD_CONTEXT_PARAM);
          if (config.requireUploadContext && !contextId) throw new ContextRequiredError();
          const base = deps.urls.wsBase(request.http);
          new StepUploadHandler(conn, {
            core,
            messages: new MessageDispatcher(STEP_UPLOAD_MESSAGES, core.access, principal),
            contextId,
            // With access control on, the shared reference carries the resource's read token.
            referenceFor: (id, readToken) =>
              `${base}${STEP_DOWNLOAD_PATH_PREFIX}${encodeURIComponent(id)}${readToken ? `?token=${encodeURIComponent(readToken)}` : ''}`,
            logger,
          });
          conn.resume();
        },
      },
      {
        path: STEP_DOWNLOAD_PATH_PREFIX,
        prefix: true,
        access: requires('read', resourceIdOf),
        messages: STEP_DOWNLOAD_MESSAGES.rules,
        refuse,
        async accept(conn, request, principal, logger) {
          const messages = new MessageDispatcher(STEP_DOWNLOAD_MESSAGES, core.access, principal);
          const handler = new StepDownloadHandler(conn, core, await resourceIdOf(request), messages, logger);
          conn.resume();
          await handler.start();
        },
      },
    ],
  };
});
