import path from 'node:path';
import type { Logger } from 'winston';
import { openBackends } from './backends.js';
import { type ConfigSources, loadConfig } from './config/load.js';
import type { SpoolConfig, SpoolConfigInput } from './config/schema.js';
import { AccessControl } from './core/access/access-control.js';
import { LocalKeyOwners } from './core/cluster/key-owners.js';
import { nodeUrlOf } from './core/cluster/node-url.js';
import { SpoolCore, type SpoolCoreDeps } from './core/spool-core.js';
import { type Host, HostUrls, startHost } from './host/host.js';
import { ServerMetrics } from './host/metrics.js';
import { createLogger } from './logging.js';
import { blobSyncProtocol } from './protocols/blob-sync/index.js';
import { hspProtocol } from './protocols/hsp/index.js';
import { httpApiProtocol } from './protocols/http-api/index.js';
import { operationsProtocol } from './protocols/operations/index.js';
import { pipeProtocol } from './protocols/pipe/index.js';
import { type Lifecycle, ownerOfNameIn, type ProtocolDefinition } from './protocols/protocol.js';
import { rendezvousProtocol } from './protocols/rendezvous/index.js';
import { spoolWebSocketProtocol } from './protocols/spool-websocket/index.js';
import { stepWebSocketProtocol } from './protocols/step-websocket/index.js';
import { tusProtocol } from './protocols/tus/index.js';
import { webProtocol } from './protocols/web/index.js';

/**
 * Every protocol the server speaks, in one list: adding a protocol is a folder under
 * `protocols/` and one line here (docs/architecture.md).
 */
export const DEFAULT_PROTOCOLS: readonly ProtocolDefinition[] = [
  operationsProtocol,
  httpApiProtocol,
  stepWebSocketProtocol,
  spoolWebSocketProtocol,
  tusProtocol,
  hspProtocol,
  blobSyncProtocol,
  rendezvousProtocol,
  pipeProtocol,
  webProtocol,
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
  /** What `/metrics` reports. */
  readonly metrics: ServerMetrics;
  /** Graceful stop: connections are told goodbye (WebSocket: 1001 "Server shutdown"), uploads get a final checkpoint. */
  close(): Promise<void>;
}

export interface StartOptions extends Omit<ConfigSources, 'overrides'> {
  /** Replace the catalog/store/bus the config chooses (tests); all three given: the config's are not opened. */
  deps?: Partial<SpoolCoreDeps>;
  /** The protocols to mount (default: DEFAULT_PROTOCOLS). */
  protocols?: readonly ProtocolDefinition[];
}

export async function startServer(overrides: Partial<SpoolConfigInput> = {}, options: StartOptions = {}): Promise<SpoolServer> {
  const config = loadConfig({ ...options, overrides });
  const logger = createLogger(config);
  const definitions = options.protocols ?? DEFAULT_PROTOCOLS;
  const ownerOfName = ownerOfNameIn(definitions);
  const backends = options.deps?.catalog && options.deps.store && options.deps.bus ? undefined : await openBackends(config, logger);
  const chosen = { logger, ...backends?.deps, ...options.deps } as SpoolCoreDeps;
  const lifecycle: { state: Lifecycle['state'] } = { state: 'starting' };
  let connections: () => Record<string, number> = () => ({});
  const metrics = new ServerMetrics(() => connections());
  const catalog = metrics.countCatalogErrors(chosen.catalog);
  const deps = {
    ...chosen,
    catalog,
    store: metrics.countStorageErrors(chosen.store),
    metrics,
    access: new AccessControl(config.authEnabled, config.apiTokens, catalog, ownerOfName),
  };
  const core = new SpoolCore(deps, {
    checkpointIntervalMs: config.checkpointIntervalMs,
    maxActiveUploads: config.maxActiveUploads,
    maxResourceBytes: config.maxResourceBytes,
    highWaterMarkBytes: config.uploadHighWaterMarkBytes,
    // On NFS other nodes see only what was flushed (close-to-open consistency).
    syncOnCheckpoint: config.syncOnCheckpoint || (config.bytes === 'shared-dir' && config.sharedDirSync),
    maxLinesReplyBytes: config.maxLinesReplyBytes,
    catchUpReadBudgetBytes: config.catchUpReadBudgetBytes,
    inlineMaxBytes: config.inlineMaxBytes,
    resumeGraceMs: config.resumeGraceMs,
    retentionMs: config.retentionMs,
    sweepIntervalMs: config.sweepIntervalMs,
    idleTimeoutMs: config.uploadIdleTimeoutMs,
  });
  try {
    await core.start();
  } catch (err) {
    await core.close().catch(() => undefined);
    await backends?.close();
    throw err;
  }

  const urls = new HostUrls(config.publicUrl);
  const owners = backends?.owners ?? new LocalKeyOwners();
  const protocols = definitions.map((protocol) =>
    protocol.create({
      core: metrics.coreFor(protocol.name, core),
      config,
      logger,
      urls,
      metrics: metrics.forProtocol(protocol.name),
      lifecycle,
      owners,
    }),
  );
  let host: Host;
  try {
    host = await startHost(protocols, { core, config, logger, urls, metrics });
    connections = () => host.connections.byProtocol();
    owners.attach(nodeUrlOf(config, host.port));
    lifecycle.state = 'serving';
  } catch (err) {
    await core.close();
    await backends?.close();
    throw err;
  }
  logger.info('spool server listening', {
    url: host.url,
    tcp: host.tcpPorts,
    dataDir: path.resolve(config.dataDir),
    backends: { catalog: config.catalog, events: config.events, bytes: config.bytes },
    publicUrl: config.publicUrl,
    accessControl: config.authEnabled ? `on (${config.apiTokens.length} API tokens)` : 'off',
  });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      lifecycle.state = 'stopping';
      logger.info('shutting down');
      await host.close();
      await core.close();
      await backends?.close();
      logger.info('stopped');
    })();
    return closing;
  };
  return { config, core, logger, url: host.url, wsUrl: host.url.replace(/^http/, 'ws'), port: host.port, host, metrics, close };
}

export { embeddedDeps } from './backends.js';
