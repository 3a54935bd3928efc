import type { Socket } from 'node:net';
import { encodePacket, HSP_HEADER, HspStatus } from '@spool/common';
import type { AccessRule } from '../access-rule.js';
import { defineProtocol } from '../protocol.js';
import { referencesFor } from '../shared/references.js';
import { HspConnection } from './connection.js';
import { HspStreams } from './context.js';
import { HspDispatcher, type HspRoute } from './dispatcher.js';
import { downloadRoute, listRoute, pingRoute, statusRoute } from './routes/resources.js';
import { uploadRoute } from './routes/upload.js';

/** What a socket refused at the connection limit reads before it is closed. */
const BUSY = encodePacket(
  { [HSP_HEADER.DATA_FORMAT]: 'text:utf-8', [HSP_HEADER.STATUS]: String(HspStatus.UNAVAILABLE), 'x-error': 'SERVER_BUSY' },
  'Too many connections to this server (maxConnections); try again later',
);

/**
 * HSP (docs/protocols/hsp.md): a small binary packet protocol on a TCP port of its own
 * (`hspPort`, `off` to not listen). Routes `/ping`, `/upload` (stream requests with resume
 * by key), `/status`, `/download`, `/list`; each names its access rule, enforced with the
 * `auth` header's credential before it runs. Resources it creates are the core's, read and
 * followed over every other protocol while their bytes arrive.
 */
export const hspProtocol = defineProtocol('hsp', (deps) => {
  const { core, config, logger } = deps;
  if (config.hspPort === 'off') return {};
  const ctx = {
    core,
    config,
    logger,
    streams: new HspStreams(),
    references: (id: string, readToken?: string) => referencesFor(deps.urls.wsBase(), id, readToken),
  };
  const routes: Record<string, HspRoute> = {
    '/ping': pingRoute,
    '/upload': uploadRoute(ctx),
    '/status': statusRoute(ctx),
    '/download': downloadRoute(ctx),
    '/list': listRoute(ctx),
  };
  const requests = deps.metrics.counter('requests_total', 'HSP requests by route and outcome', ['route', 'outcome']);
  const dispatcher = new HspDispatcher(routes, core.access, (route, outcome) => requests.inc({ route, outcome }));
  const options = {
    limits: { maxHeaderBytes: config.hspMaxHeaderBytes, maxPayloadBytes: config.hspMaxPayloadBytes },
    idleTimeoutMs: config.hspIdleTimeoutMs,
    packetTimeoutMs: config.hspPacketTimeoutMs,
  };
  return {
    tcp: {
      host: config.host,
      port: config.hspPort,
      requests: Object.fromEntries(Object.entries(routes).map(([name, route]) => [name, route.access as AccessRule<never>])),
      allowHalfOpen: true,
      accept: (socket: Socket, connectionLogger) => new HspConnection(socket, dispatcher, { ...options, logger: connectionLogger }),
      busy: (socket: Socket) => {
        socket.end(BUSY);
        setTimeout(() => socket.destroy(), 2_000).unref();
      },
    },
  };
});
