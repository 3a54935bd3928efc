import path from 'node:path';
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
import { type Host, HostUrls, startHost } from './host/host.js';
import { createLogger } from './logging.js';
import { blobSyncProtocol } from './protocols/blob-sync/index.js';
import { hspProtocol } from './protocols/hsp/index.js';
import { httpApiProtocol } from './protocols/http-api/index.js';
import { ownerOfNameIn, type ProtocolDefinition } from './protocols/protocol.js';
import { spoolWebSocketProtocol } from './protocols/spool-websocket/index.js';
import { stepWebSocketProtocol } from './protocols/step-websocket/index.js';
import { tusProtocol } from './protocols/tus/index.js';

/**
 * Every protocol the server speaks, in one list: adding a protocol is a folder under
 * `protocols/` and one line here (docs/architecture.md).
 */
export const DEFAULT_PROTOCOLS: readonly ProtocolDefinition[] = [
  httpApiProtocol,
  stepWebSocketProtocol,
  spoolWebSocketProtocol,
  tusProtocol,
  hspProtocol,
  blobSyncProtocol,
];

export interface SpoolServer {
  readonly config: SpoolConfig;
  readonly core: SpoolCore;
  readonly logger: Logger;
  /** `http://host:port` as bound (not the public URL). */
  readonly url: string;
  /** `ws://host:port` as bound. */
  readonly wsUrl: string;
  readonly port: number;
  /** The mounted protocols: routes, endpoints, TCP ports, open connections. */
  readonly host: Host;
  /** Graceful stop: connections are told goodbye (WebSocket: 1001 "Server shutdown"), uploads get a final checkpoint. */
  close(): Promise<void>;
}

export interface StartOptions extends Omit<ConfigSources, 'overrides'> {
  /** Replace the embedded catalog/store/bus (multi-node deployments, tests). */
  deps?: Partial<SpoolCoreDeps>;
  /** The protocols to mount (default: DEFAULT_PROTOCOLS). */
  protocols?: readonly ProtocolDefinition[];
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

export async function startServer(overrides: Partial<SpoolConfigInput> = {}, options: StartOptions = {}): Promise<SpoolServer> {
  const config = loadConfig({ ...options, overrides });
  const logger = createLogger(config);
  const embedded = { ...embeddedDeps(config, logger), ...options.deps };
  const definitions = options.protocols ?? DEFAULT_PROTOCOLS;
  const ownerOfName = ownerOfNameIn(definitions);
  const deps = { ...embedded, access: new AccessControl(config.authEnabled, config.apiTokens, embedded.catalog, ownerOfName) };
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
    idleTimeoutMs: config.uploadIdleTimeoutMs,
  });
  await core.start();

  const urls = new HostUrls(config.publicUrl);
  const protocols = definitions.map((protocol) => protocol.create({ core, config, logger, urls }));
  let host: Host;
  try {
    host = await startHost(protocols, { core, config, logger, urls });
  } catch (err) {
    await core.close();
    throw err;
  }
  logger.info('spool server listening', {
    url: host.url,
    tcp: host.tcpPorts,
    dataDir: path.resolve(config.dataDir),
    publicUrl: config.publicUrl,
    accessControl: config.authEnabled ? `on (${config.apiTokens.length} API tokens)` : 'off',
  });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      logger.info('shutting down');
      await host.close();
      await core.close();
      logger.info('stopped');
    })();
    return closing;
  };
  return { config, core, logger, url: host.url, wsUrl: host.url.replace(/^http/, 'ws'), port: host.port, host, close };
}
