import path from 'node:path';
import type { Logger } from 'winston';
import { parseOctalMode, type SpoolConfig } from './config/schema.js';
import { CachingCatalog } from './core/catalog/caching-catalog.js';
import type { Catalog } from './core/catalog/catalog.js';
import { SqliteCatalog } from './core/catalog/sqlite-catalog.js';
import { type KeyOwners, LocalKeyOwners } from './core/cluster/key-owners.js';
import type { EventBus } from './core/events/event-bus.js';
import { MemoryEventBus } from './core/events/memory-event-bus.js';
import type { WriterLeases } from './core/leases/writer-leases.js';
import type { PostgresDatabase } from './core/postgres/database.js';
import type { SpoolCoreDeps } from './core/spool-core.js';
import type { ByteStore } from './core/storage/byte-store.js';
import { FileByteStore } from './core/storage/file-byte-store.js';
import { createDirSync } from './core/storage/file-modes.js';

/** The catalog, store, bus and leases the config chooses, and how to let go of what they share. */
export interface Backends {
  deps: Omit<SpoolCoreDeps, 'logger' | 'access'>;
  /** Which node owns a meeting point (pipes, rendezvous streams): Redis with events redis, else this node. */
  owners: KeyOwners;
  /** Closes what the core does not (the PostgreSQL pool); after `SpoolCore.close`. */
  close(): Promise<void>;
}

/** The embedded default: SQLite catalog and files in the data directory, in-process events. */
export function embeddedDeps(config: SpoolConfig, logger: Logger): SpoolCoreDeps {
  return { ...localParts(config), bus: new MemoryEventBus(), logger };
}

function localParts(config: SpoolConfig): { catalog: Catalog; store: ByteStore } {
  const [fileMode, dirMode] = [parseOctalMode(config.dataFileMode), parseOctalMode(config.dataDirMode)];
  createDirSync(config.dataDir, dirMode);
  return {
    catalog: new CachingCatalog(new SqliteCatalog(path.join(config.dataDir, 'catalog.sqlite'), { fileMode })),
    store: new FileByteStore(config.dataDir, { fileMode, dirMode }),
  };
}

/**
 * Opens what `catalog`, `events` and `bytes` choose. The cluster engines are imported only
 * when chosen (the embedded default never loads `pg` or `ioredis`); one that cannot be
 * reached stops the start with a message naming it, and whatever was opened is closed.
 */
export async function openBackends(config: SpoolConfig, logger: Logger): Promise<Backends> {
  if (config.catalog === 'sqlite' && config.events === 'memory' && config.bytes === 'files') {
    return { deps: embeddedDeps(config, logger), owners: new LocalKeyOwners(), close: async () => undefined };
  }
  const opened: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of opened.splice(0).reverse()) await close().catch(() => undefined);
  };
  try {
    let db: PostgresDatabase | undefined;
    if (config.catalog === 'postgres' || config.bytes === 'postgres') {
      const { PostgresDatabase } = await import('./core/postgres/database.js');
      const connected = await PostgresDatabase.connect(config.databaseUrl as string, logger);
      opened.push(() => connected.release());
      db = connected;
    }
    let bus: EventBus;
    let owners: KeyOwners;
    if (config.events === 'redis') {
      const { RedisEventBus } = await import('./core/events/redis-event-bus.js');
      const { RedisKeyOwners } = await import('./core/cluster/redis-key-owners.js');
      const redis = await RedisEventBus.connect(config.redisUrl as string, config.redisKeyPrefix, logger);
      opened.push(() => redis.close());
      bus = redis;
      const redisOwners = await RedisKeyOwners.connect(config.redisUrl as string, config.redisKeyPrefix, logger);
      opened.push(() => redisOwners.close());
      owners = redisOwners;
    } else {
      bus = new MemoryEventBus();
      owners = new LocalKeyOwners();
    }
    let catalog: Catalog;
    let leases: WriterLeases | undefined;
    if (config.catalog === 'postgres' && db) {
      const { PostgresCatalog } = await import('./core/catalog/postgres-catalog.js');
      const { PostgresWriterLeases } = await import('./core/leases/postgres-writer-leases.js');
      const caching = new CachingCatalog(new PostgresCatalog(db));
      // Terminal records are cached; a delete on another node must reach this node's cache.
      if (config.events === 'redis') await caching.shareInvalidations(bus);
      else logger.warn('catalog postgres with events memory: followers see only uploads of their own node (run one node, or events redis)');
      catalog = caching;
      const started = await PostgresWriterLeases.start(db, { ttlMs: config.writerLeaseTtlMs, logger });
      opened.push(() => started.close());
      leases = started;
    } else {
      catalog = localParts(config).catalog;
    }
    let store: ByteStore;
    if (config.bytes === 'shared-dir') {
      const { SharedDirByteStore } = await import('./core/storage/shared-dir-byte-store.js');
      const [fileMode, dirMode] = [parseOctalMode(config.dataFileMode), parseOctalMode(config.dataDirMode)];
      createDirSync(config.sharedDir as string, dirMode);
      store = new SharedDirByteStore(config.sharedDir as string, { fileMode, dirMode });
    } else if (config.bytes === 'postgres' && db) {
      const { PostgresByteStore } = await import('./core/storage/postgres-byte-store.js');
      store = new PostgresByteStore(db);
    } else {
      store = localParts(config).store;
      if (config.catalog === 'postgres')
        logger.warn('bytes files keeps bytes on this node only: several nodes need bytes shared-dir or postgres');
    }
    // The core closes catalog, store and bus (and leases); the pool and the key owners go after them.
    opened.splice(0, opened.length, () => owners.close(), ...(db ? [() => (db as PostgresDatabase).release()] : []));
    return { deps: { catalog, store, bus, ...(leases ? { leases } : {}) }, owners, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
