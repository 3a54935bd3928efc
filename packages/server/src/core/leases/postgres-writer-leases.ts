import { randomBytes } from 'node:crypto';
import { WriterConflictError, WriterFencedError } from '@spool/common';
import type { Client, PoolClient } from 'pg';
import type { Logger } from 'winston';
import type { PostgresDatabase } from '../postgres/database.js';
import type { WriterLease, WriterLeases } from './writer-leases.js';

/** How long between two attempts to take the node lock again after its connection was lost. */
const NODE_LOCK_RETRY_MS = 1_000;
/** Orphans handled per sweep. */
const ORPHANS_PER_SWEEP = 500;

/**
 * Refuses the write of a writer whose lease moved. FOR SHARE: a takeover (an UPDATE of
 * the lease) waits for the transaction doing this, so nothing of the old writer lands
 * after the new one started.
 */
export async function assertFence(client: PoolClient, resourceId: string, fence: number): Promise<void> {
  const { rows } = await client.query<{ token: number }>('SELECT token FROM writer_leases WHERE resource_id = $1 FOR SHARE', [resourceId]);
  if (rows[0]?.token !== fence) throw new WriterFencedError(resourceId);
}

class PostgresLease implements WriterLease {
  private lostListeners: (() => void)[] = [];
  private released = false;
  lost = false;

  constructor(
    private readonly owner: PostgresWriterLeases,
    readonly resourceId: string,
    readonly token: number,
  ) {}

  onLost(listener: () => void): void {
    if (this.lost) queueMicrotask(listener);
    else this.lostListeners.push(listener);
  }

  markLost(): void {
    if (this.lost || this.released) return;
    this.lost = true;
    for (const listener of this.lostListeners.splice(0)) listener();
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.owner.give(this);
  }
}

/**
 * Writer leases in PostgreSQL (`writer_leases`), with a fencing token per resource.
 *
 * - Each node holds a session-level advisory lock on its own random key for as long as it
 *   runs (one dedicated connection). A node killed with `kill -9` loses its connection,
 *   so PostgreSQL drops the lock at once: another node may take its leases over
 *   immediately (a resumed upload goes on without waiting for a timeout).
 * - A lease is held until `expires_at`, renewed every `ttlMs / 3` for all of a node's
 *   leases in one statement. A node that hangs (paused, partitioned) stops renewing; after
 *   `ttlMs` its leases may be taken over, and the node, when it wakes, finds them gone
 *   (its renewal says so) and its writes fenced.
 * - A takeover of a held lease raises the token; a lease given back keeps it, so the next
 *   writer of the resource (HTTP appends: one per request) goes on in the same segment.
 */
export class PostgresWriterLeases implements WriterLeases {
  /** This node's advisory lock key (a positive 63-bit integer, as text for BIGINT). */
  readonly nodeKey = (BigInt(`0x${randomBytes(8).toString('hex')}`) >> 1n).toString();
  private readonly held = new Map<string, PostgresLease>();
  private readonly db: PostgresDatabase;
  private nodeLock: Client | undefined;
  private renewer: NodeJS.Timeout | undefined;
  private relocker: NodeJS.Timeout | undefined;
  private lastRenewedAt = Date.now();
  private renewing = false;
  private closed = false;

  private constructor(
    db: PostgresDatabase,
    private readonly ttlMs: number,
    private readonly logger: Logger,
  ) {
    this.db = db.retain();
  }

  /** Takes this node's lock (failing the start if it cannot) and starts renewing. */
  static async start(db: PostgresDatabase, options: { ttlMs: number; logger: Logger }): Promise<PostgresWriterLeases> {
    const leases = new PostgresWriterLeases(db, options.ttlMs, options.logger);
    try {
      await leases.lockNode();
    } catch (err) {
      await leases.close();
      throw err;
    }
    leases.renewer = setInterval(() => void leases.renew(), Math.max(1, Math.floor(options.ttlMs / 3)));
    leases.renewer.unref();
    return leases;
  }

  async acquire(resourceId: string): Promise<WriterLease> {
    const lease = await this.tryAcquire(resourceId);
    if (!lease) throw new WriterConflictError(resourceId);
    return lease;
  }

  async tryAcquire(resourceId: string): Promise<WriterLease | undefined> {
    // Free, given back, expired, this node's own, or its node is dead (its lock is free: the
    // xact lock then taken is let go at commit).
    const { rows } = await this.db.pool.query<{ token: number }>(
      `INSERT INTO writer_leases AS l (resource_id, token, node_key, held, expires_at)
       VALUES ($1, 1, $2, TRUE, now() + $3 * interval '1 millisecond')
       ON CONFLICT (resource_id) DO UPDATE SET
         token = CASE WHEN l.held THEN l.token + 1 ELSE l.token END,
         node_key = excluded.node_key, held = TRUE, expires_at = excluded.expires_at
       WHERE NOT l.held OR l.expires_at < now() OR l.node_key = excluded.node_key OR pg_try_advisory_xact_lock(l.node_key)
       RETURNING token`,
      [resourceId, this.nodeKey, this.ttlMs],
    );
    const token = rows[0]?.token;
    if (token === undefined) return undefined;
    const lease = new PostgresLease(this, resourceId, token);
    this.held.get(resourceId)?.markLost();
    this.held.set(resourceId, lease);
    return lease;
  }

  async orphans(): Promise<string[]> {
    const { rows } = await this.db.pool.query<{ resource_id: string }>(
      `SELECT resource_id FROM writer_leases WHERE held AND expires_at < now() LIMIT ${ORPHANS_PER_SWEEP}`,
    );
    return rows.map((row) => row.resource_id);
  }

  /** Gives a lease back, if it is still this writer's. */
  async give(lease: PostgresLease): Promise<void> {
    if (this.held.get(lease.resourceId) === lease) this.held.delete(lease.resourceId);
    if (this.closed) return;
    await this.db.pool
      .query('UPDATE writer_leases SET held = FALSE, expires_at = now() WHERE resource_id = $1 AND token = $2 AND node_key = $3', [
        lease.resourceId,
        lease.token,
        this.nodeKey,
      ])
      .catch((err: Error) => {
        // It runs out by itself; until then a resume elsewhere waits (WRITER_CONFLICT is retried).
        this.logger.warn('writer lease not given back', { resourceId: lease.resourceId, error: err.message });
      });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.renewer) clearInterval(this.renewer);
    if (this.relocker) clearTimeout(this.relocker);
    await this.nodeLock?.end().catch(() => undefined);
    await this.db.release();
  }

  /** Renews every lease of this node; those not renewed were taken over: their writers stop. */
  private async renew(): Promise<void> {
    if (this.renewing || this.closed) return;
    this.renewing = true;
    const startedAt = Date.now();
    try {
      const { rows } = await this.db.pool.query<{ resource_id: string; token: number }>(
        `UPDATE writer_leases SET expires_at = now() + $2 * interval '1 millisecond' WHERE node_key = $1 AND held
         RETURNING resource_id, token`,
        [this.nodeKey, this.ttlMs],
      );
      this.lastRenewedAt = startedAt;
      const renewed = new Map(rows.map((row) => [row.resource_id, row.token]));
      for (const lease of [...this.held.values()]) {
        if (renewed.get(lease.resourceId) !== lease.token && this.held.get(lease.resourceId) === lease) this.lose(lease);
      }
    } catch (err) {
      // Not renewed for a whole TTL: another node may take them now. Stop writing first.
      if (Date.now() - this.lastRenewedAt > this.ttlMs) for (const lease of [...this.held.values()]) this.lose(lease);
      this.logger.warn('writer leases not renewed', { error: (err as Error).message, leases: this.held.size });
    } finally {
      this.renewing = false;
    }
  }

  private lose(lease: PostgresLease): void {
    this.held.delete(lease.resourceId);
    this.logger.warn('writer lease lost: another node took the resource over', { resourceId: lease.resourceId, token: lease.token });
    lease.markLost();
  }

  /** Holds this node's advisory lock on a connection of its own; takes it again if that connection drops. */
  private async lockNode(): Promise<void> {
    const pg = (await import('pg')).default;
    const client = new pg.Client({ connectionString: this.db.url, connectionTimeoutMillis: 5_000 });
    client.on('error', (err) => this.logger.warn('PostgreSQL node-lock connection lost', { error: err.message }));
    client.on('end', () => {
      if (this.nodeLock === client) this.nodeLock = undefined;
      if (!this.closed) this.relockSoon();
    });
    await client.connect();
    await client.query('SELECT pg_advisory_lock($1)', [this.nodeKey]);
    this.nodeLock = client;
  }

  private relockSoon(): void {
    this.relocker = setTimeout(() => {
      this.lockNode().then(
        () => this.logger.info('PostgreSQL node lock taken again'),
        () => {
          if (!this.closed) this.relockSoon();
        },
      );
    }, NODE_LOCK_RETRY_MS);
    this.relocker.unref();
  }
}
