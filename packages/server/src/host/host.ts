import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'winston';
import type { SpoolConfig } from '../config/schema.js';
import type { SpoolCore } from '../core/spool-core.js';
import type { Protocol, PublicUrls, TcpMount } from '../protocols/protocol.js';
import { rawErrorResponse } from '../transport/http/errors.js';
import { createHttpServer } from '../transport/http/http-server.js';
import { ByteBudget } from '../transport/websocket/index.js';
import { Connections } from './connections.js';
import { createHttpApp, type MountedRoute } from './http-routes.js';
import type { ServerMetrics } from './metrics.js';
import { listenTcp, type TcpListener } from './tcp-listeners.js';
import { createUpgradeHandler, type MountedEndpoint } from './websocket-upgrades.js';

export interface Host {
  /** `http://host:port` as bound. */
  readonly url: string;
  readonly port: number;
  /** Bound ports of the protocols' TCP listeners, by protocol name. */
  readonly tcpPorts: Readonly<Record<string, number>>;
  /** Every HTTP route, WebSocket endpoint and TCP listener mounted, with their access rules. */
  readonly routes: readonly MountedRoute[];
  readonly endpoints: readonly MountedEndpoint[];
  readonly tcpMounts: readonly MountedTcp[];
  readonly connections: Connections;
  /** Stops accepting, tells every connection goodbye, waits (`shutdownTimeoutMs`), cuts the rest. */
  close(): Promise<void>;
}

/** A protocol's TCP listener as mounted: its requests and what each needs. */
export interface MountedTcp {
  readonly protocol: string;
  readonly mount: TcpMount;
}

export interface HostDeps {
  core: SpoolCore;
  /** Told which protocol each socket and request is for. */
  metrics: ServerMetrics;
  config: SpoolConfig;
  logger: Logger;
  urls: HostUrls;
}

/**
 * The bases clients reach this server at: the public URL if configured, else the
 * request's `Host`, else the bound address (known once listening).
 */
export class HostUrls implements PublicUrls {
  private bound = '';

  constructor(private readonly publicUrl: string | undefined) {}

  setBound(httpUrl: string): void {
    this.bound = httpUrl;
  }

  httpBase(req?: IncomingMessage): string {
    if (this.publicUrl) return this.publicUrl.replace(/\/+$/, '');
    const host = req?.headers.host;
    return host ? `http://${host}` : this.bound;
  }

  wsBase(req?: IncomingMessage): string {
    return this.httpBase(req).replace(/^http/, 'ws');
  }
}

/** What a socket refused at the connection limit reads (the server's JSON error shape). */
const BUSY = rawErrorResponse(503, 'SERVER_BUSY', 'Too many connections to this server (maxConnections); try again later');

/**
 * Mounts the protocols on one HTTP server (routes and WebSocket upgrades) and their own
 * TCP listeners, with one connection limit, connection tracking and shutdown for all.
 */
export async function startHost(protocols: readonly Protocol[], deps: HostDeps): Promise<Host> {
  const { core, config, logger } = deps;
  const names = new Set<string>();
  for (const protocol of protocols) {
    if (names.has(protocol.name)) throw new Error(`Two protocols are named ${protocol.name}`);
    names.add(protocol.name);
  }
  const loggers = new Map(protocols.map((p) => [p, logger.child({ protocol: p.name })]));
  const loggerOf = (p: Protocol) => loggers.get(p) ?? logger;
  const connections = new Connections(config.maxConnections);

  const refused = new WeakSet<Socket>();
  const { app, routes } = createHttpApp(protocols, {
    access: core.access,
    loggerOf,
    logger,
    isRefused: (socket) => refused.has(socket),
    corsOrigins: config.corsOrigins,
    metrics: deps.metrics,
  });
  const server: Server = createHttpServer(app, config);
  // Registered before node:http's own listener, so a refused socket is answered before any request on it is read.
  server.prependListener('connection', (socket: Socket) => {
    if (connections.admit(socket)) return;
    refused.add(socket);
    logger.warn('connection refused: server at maxConnections', { remote: socket.remoteAddress });
    socket.end(BUSY, () => socket.destroy());
  });

  const upgrades = createUpgradeHandler(protocols, {
    access: core.access,
    connections,
    connectionOptions: {
      maxTextMessageBytes: config.maxTextMessageBytes,
      pingIntervalMs: config.pingIntervalMs,
      closeTimeoutMs: config.closeTimeoutMs,
      // One for every WebSocket protocol: the bound is on the process's memory.
      textBudget: new ByteBudget(config.maxBufferedTextBytes),
    },
    loggerOf,
    logger,
    metrics: deps.metrics,
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (refused.has(req.socket)) {
      socket.destroy();
      return;
    }
    upgrades.handle(req, socket, head);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  const url = `http://${hostForUrl}:${port}`;
  deps.urls.setBound(url);

  const listeners: TcpListener[] = [];
  try {
    for (const protocol of protocols) {
      if (protocol.tcp) listeners.push(await listenTcp(protocol, protocol.tcp, connections, loggerOf(protocol), deps.metrics));
    }
  } catch (err) {
    server.close();
    for (const listener of listeners) listener.server.close();
    throw err;
  }

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      server.close();
      server.closeIdleConnections();
      for (const listener of listeners) listener.server.close();
      await Promise.allSettled(protocols.map(async (p) => p.stop?.()));
      await connections.sayGoodbye(config.shutdownTimeoutMs);
      server.closeAllConnections();
    })();
    return closing;
  };
  return {
    url,
    port,
    tcpPorts: Object.fromEntries(listeners.map((l) => [l.protocol, l.port])),
    routes,
    endpoints: upgrades.endpoints,
    tcpMounts: protocols.flatMap((p) => (p.tcp ? [{ protocol: p.name, mount: p.tcp }] : [])),
    connections,
    close,
  };
}
