import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { CloseCode } from '@spool/common';
import type { Logger } from 'winston';
import { type ConfigSources, loadConfig } from './config/load.js';
import { parseOctalMode, type SpoolConfig, type SpoolConfigInput } from './config/schema.js';
import { AccessControl } from './core/access/access-control.js';
import { CachingCatalog } from './core/catalog/caching-catalog.js';
import { SqliteCatalog } from './core/catalog/sqlite-catalog.js';
import { MemoryEventBus } from './core/events/memory-event-bus.js';
import { SpoolCore, type SpoolCoreDeps } from './core/spool-core.js';
import { FileByteStore } from './core/storage/file-byte-store.js';
import { createDirSync } from './core/storage/file-modes.js';
import { createLogger } from './logging.js';
import { createHttpFace, createHttpServer } from './protocols/http/index.js';
import { spoolWebSocketFace } from './protocols/spool-websocket/index.js';
import { stepWebSocketFace } from './protocols/step-websocket/index.js';
import { rejectUpgrade, type WsConnection } from './transport/websocket/index.js';

export interface SpoolServer {
  readonly config: SpoolConfig;
  readonly core: SpoolCore;
  readonly logger: Logger;
  /** `http://host:port` as bound (not the public URL). */
  readonly url: string;
  /** `ws://host:port` as bound. */
  readonly wsUrl: string;
  readonly port: number;
  /** Graceful stop: WebSocket clients get 1001 "Server shutdown", uploads a final checkpoint. */
  close(): Promise<void>;
}

export interface StartOptions extends Omit<ConfigSources, 'overrides'> {
  /** Replace the embedded catalog/store/bus (multi-node deployments, tests). */
  deps?: Partial<SpoolCoreDeps>;
}

/** The embedded default: SQLite catalog and files in the data directory, in-process events. */
export function embeddedDeps(config: SpoolConfig, logger: Logger): SpoolCoreDeps {
  const [fileMode, dirMode] = [parseOctalMode(config.dataFileMode), parseOctalMode(config.dataDirMode)];
  createDirSync(config.dataDir, dirMode);
  return {
    catalog: new CachingCatalog(new SqliteCatalog(path.join(config.dataDir, 'catalog.sqlite'), { fileMode })),
    store: new FileByteStore(config.dataDir, { fileMode, dirMode }),
    bus: new MemoryEventBus(),
    logger,
  };
}

/** Derives `ws(s)://host[/base]` for references: the public URL if set, else the request's Host. */
function wsBaseFor(config: SpoolConfig, req: IncomingMessage, bound: string): string {
  if (config.publicUrl) return config.publicUrl.replace(/^http/, 'ws').replace(/\/+$/, '');
  const host = req.headers.host;
  return host ? `ws://${host}` : bound;
}

export async function startServer(overrides: Partial<SpoolConfigInput> = {}, options: StartOptions = {}): Promise<SpoolServer> {
  const config = loadConfig({ ...options, overrides });
  const logger = createLogger(config);
  const embedded = { ...embeddedDeps(config, logger), ...options.deps };
  const deps = { ...embedded, access: new AccessControl(config.authEnabled, config.apiTokens, embedded.catalog) };
  const core = new SpoolCore(deps, {
    checkpointIntervalMs: config.checkpointIntervalMs,
    maxActiveUploads: config.maxActiveUploads,
    maxResourceBytes: config.maxResourceBytes,
    highWaterMarkBytes: config.uploadHighWaterMarkBytes,
    syncOnCheckpoint: config.syncOnCheckpoint,
    maxLinesReplyBytes: config.maxLinesReplyBytes,
    resumeGraceMs: config.resumeGraceMs,
    retentionMs: config.retentionMs,
    sweepIntervalMs: config.sweepIntervalMs,
  });
  await core.start();

  const connections = new Set<WsConnection>();
  let boundWs = '';
  const app = createHttpFace({ core, config, logger });
  const server: Server = createHttpServer(app, config);
  const faceDeps = {
    core,
    config,
    logger,
    publicWsBase: (req: IncomingMessage) => wsBaseFor(config, req, boundWs),
    track: (conn: WsConnection) => {
      connections.add(conn);
      conn.once('close', () => connections.delete(conn));
    },
  };
  const stepFace = stepWebSocketFace(faceDeps);
  const spoolFace = spoolWebSocketFace(faceDeps);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (!stepFace(req, socket, head) && !spoolFace(req, socket, head))
      rejectUpgrade(socket, 404, 'NOT_FOUND', `No WebSocket endpoint at ${req.url ?? ''}`);
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
  boundWs = `ws://${hostForUrl}:${port}`;
  logger.info('spool server listening', {
    url,
    dataDir: path.resolve(config.dataDir),
    publicUrl: config.publicUrl,
    accessControl: config.authEnabled ? `on (${config.apiTokens.length} API tokens)` : 'off',
  });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      logger.info('shutting down');
      server.close();
      for (const conn of connections) conn.close(CloseCode.GOING_AWAY, 'Server shutdown');
      const deadline = Date.now() + config.shutdownTimeoutMs;
      while (connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const conn of connections) conn.terminate();
      server.closeAllConnections();
      await core.close();
      logger.info('stopped');
    })();
    return closing;
  };
  return { config, core, logger, url, wsUrl: boundWs, port, close };
}
