export { ConfigError, envName as configEnvName, flagName as configFlagName, loadConfig } from './config/load.js';
export { ConfigSchema, type SpoolConfig, type SpoolConfigInput } from './config/schema.js';
export type { Catalog, CatalogCheckpoint } from './core/catalog/catalog.js';
export { SqliteCatalog } from './core/catalog/sqlite-catalog.js';
export type { BusListener, EventBus } from './core/events/event-bus.js';
export { MemoryEventBus } from './core/events/memory-event-bus.js';
export { SpoolCore, type SpoolCoreOptions, statusOf } from './core/spool-core.js';
export type { ByteStore, ByteWriter } from './core/storage/byte-store.js';
export { FileByteStore } from './core/storage/file-byte-store.js';
export * from './core/types.js';
export { UploadSession } from './core/upload-session.js';
export { accessTableRows } from './host/access-table.js';
export type { Host, MountedTcp } from './host/host.js';
export type { MountedRoute } from './host/http-routes.js';
export type { MountedEndpoint } from './host/websocket-upgrades.js';
export {
  type AccessRule,
  authenticated,
  inherited,
  publicAccess,
  type Requirement,
  requires,
  requiresDecided,
  requiresOwner,
} from './protocols/access-rule.js';
export {
  defineProtocol,
  type HttpMount,
  type HttpRoute,
  type Protocol,
  type ProtocolDefinition,
  type ProtocolDeps,
  type TcpMount,
  type WebSocketEndpoint,
  type WebSocketRequest,
} from './protocols/protocol.js';
export { serveUntilSignal } from './serve.js';
export { DEFAULT_PROTOCOLS, embeddedDeps, type SpoolServer, type StartOptions, startServer } from './server.js';
