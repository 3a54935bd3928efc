import { Readable } from 'node:stream';
import { StorageFailureError, WriterFencedError } from '@spool/common';
import type { PoolClient } from 'pg';
import { assertFence } from '../leases/postgres-writer-leases.js';
import type { PostgresDatabase } from '../postgres/database.js';
import type { ByteStore, ByteWriter, WriterOptions } from './byte-store.js';
import { joinChunks } from './join-chunks.js';

/** Largest row of bytes: an append batch (up to the upload's high-water mark) is cut into rows of this size. */
const CHUNK_BYTES = 1024 * 1024;
/** Rows fetched per query of a range stream: memory of a stream stays ≤ this many chunks. */
const ROWS_PER_FETCH = 4;

interface ChunkRow {
  start_offset: number;
  end_offset: number;
  data: Buffer;
}

/** Cuts the resource to `size`: rows past it go, the row across it is shortened. */
async function cutChunks(client: PoolClient, id: string, size: number): Promise<void> {
  await client.query('DELETE FROM resource_chunks WHERE resource_id = $1 AND start_offset >= $2', [id, size]);
  await client.query(
    `UPDATE resource_chunks SET data = substring(data FROM 1 FOR ($2 - start_offset)::int), end_offset = $2
     WHERE resource_id = $1 AND start_offset < $2 AND end_offset > $2`,
    [id, size],
  );
}

async function storedSize(client: Pick<PoolClient, 'query'>, id: string): Promise<number> {
  const { rows } = await client.query<{ size: number | null }>(
    'SELECT max(end_offset) AS size FROM resource_chunks WHERE resource_id = $1',
    [id],
  );
  return rows[0]?.size ?? 0;
}

class PostgresByteWriter implements ByteWriter {
  private closed = false;
  constructor(
    private readonly db: PostgresDatabase,
    private readonly id: string,
    private written: number,
    private readonly fence: number | undefined,
  ) {}

  get size(): number {
    return this.written;
  }

  /** Rows of at most CHUNK_BYTES, in one transaction that first checks the fence. */
  async append(chunks: readonly Buffer[]): Promise<void> {
    if (this.closed) throw new StorageFailureError('Writer is closed');
    const rows = toRows(chunks, this.written);
    if (rows.length === 0) return;
    // One statement per row, each checking the fence under a share lock of the lease (a
    // takeover waits for it, then cuts whatever landed past the visible size). A lone
    // Buffer parameter goes over as binary; an array of them would go as hex text.
    for (const row of rows) {
      let inserted: number | null;
      try {
        ({ rowCount: inserted } = await this.db.query(
          `WITH lease AS (SELECT token FROM writer_leases WHERE resource_id = $1 FOR SHARE)
           INSERT INTO resource_chunks (resource_id, start_offset, end_offset, data)
           SELECT $1, $2, $3, $4 WHERE $5::bigint IS NULL OR EXISTS (SELECT 1 FROM lease WHERE token = $5)`,
          [this.id, row.start, row.start + row.data.length, row.data, this.fence ?? null],
        ));
      } catch (err) {
        throw storageError(err, `Writing resource ${this.id}`);
      }
      if (!inserted) throw new WriterFencedError(this.id);
    }
    const last = rows[rows.length - 1] as { start: number; data: Buffer };
    this.written = last.start + last.data.length;
  }

  async sync(): Promise<void> {
    // Every append is a committed transaction.
  }

  async truncate(size: number): Promise<void> {
    if (this.closed) throw new StorageFailureError('Writer is closed');
    await this.fenced((client) => cutChunks(client, this.id, size));
    this.written = size;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private async fenced(work: (client: PoolClient) => Promise<void>): Promise<void> {
    try {
      await this.db.transaction(async (client) => {
        if (this.fence !== undefined) await assertFence(client, this.id, this.fence);
        await work(client);
      });
    } catch (err) {
      throw storageError(err, `Writing resource ${this.id}`);
    }
  }
}

/** The batch as rows of at most CHUNK_BYTES from `offset` on (small chunks joined, one copy). */
function toRows(chunks: readonly Buffer[], offset: number): { start: number; data: Buffer }[] {
  const rows: { start: number; data: Buffer }[] = [];
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let start = offset;
  const flush = () => {
    if (pendingBytes === 0) return;
    rows.push({ start, data: pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes) });
    start += pendingBytes;
    pending = [];
    pendingBytes = 0;
  };
  for (let chunk of chunks) {
    while (chunk.length > 0) {
      const take = Math.min(chunk.length, CHUNK_BYTES - pendingBytes);
      pending.push(chunk.subarray(0, take));
      pendingBytes += take;
      chunk = chunk.subarray(take);
      if (pendingBytes === CHUNK_BYTES) flush();
    }
  }
  flush();
  return rows;
}

/** A refusal (fenced, a SpoolError) passes; anything else is the database failing: STORAGE_FAILURE. */
function storageError(err: unknown, action: string): Error {
  if ((err as { code?: unknown }).code === 'WRITER_CONFLICT') return err as Error;
  return new StorageFailureError(`${action} failed: ${(err as Error).message}`, err);
}

/**
 * Resource bytes as rows of up to 1 MiB in PostgreSQL (`resource_chunks`): what GitLab
 * does with live CI-log chunks before it moves them to object storage. Every node reads
 * what any node committed, nothing to mount. An append is one transaction that first
 * checks the writer's fence under a share lock of its lease: a takeover waits for it, and
 * every later append of the old writer is refused (WriterFencedError).
 */
export class PostgresByteStore implements ByteStore {
  /** Not closed by the store: reads work after `close` (the contract), so whoever opened the database closes it. */
  constructor(private readonly db: PostgresDatabase) {}

  async openWriter(id: string, options: WriterOptions = {}): Promise<ByteWriter> {
    try {
      const size = await this.db.transaction(async (client) => {
        if (options.fence !== undefined) await assertFence(client, id, options.fence);
        if (options.at !== undefined) await cutChunks(client, id, options.at);
        return storedSize(client, id);
      });
      return new PostgresByteWriter(this.db, id, size, options.fence);
    } catch (err) {
      throw storageError(err, `Opening resource ${id} for writing`);
    }
  }

  async size(id: string): Promise<number> {
    try {
      return await storedSize(this.db.pool, id);
    } catch (err) {
      throw storageError(err, `Sizing resource ${id}`);
    }
  }

  createReadStream(id: string, start: number, end: number): Readable {
    if (end <= start) return Readable.from([]);
    return Readable.from(this.readChunks(id, start, end), { objectMode: false });
  }

  /** `[start, end)` a few rows per query, so a range of any size holds a few MiB at most. */
  private async *readChunks(id: string, start: number, end: number): AsyncGenerator<Buffer> {
    let position = start;
    while (position < end) {
      let rows: ChunkRow[];
      try {
        ({ rows } = await this.db.pool.query<ChunkRow>(
          `SELECT start_offset, end_offset, data FROM resource_chunks
           WHERE resource_id = $1 AND end_offset > $2 AND start_offset < $3 ORDER BY end_offset LIMIT ${ROWS_PER_FETCH}`,
          [id, position, end],
        ));
      } catch (err) {
        throw storageError(err, `Reading resource ${id}`);
      }
      if (rows.length === 0 || (rows[0] as ChunkRow).start_offset > position) break;
      for (const row of rows) {
        if (row.start_offset > position) break;
        const from = position - row.start_offset;
        const to = Math.min(row.end_offset, end) - row.start_offset;
        yield row.data.subarray(from, to);
        position = row.start_offset + to;
      }
    }
    if (position < end) throw new StorageFailureError(`Resource ${id} holds fewer bytes than ${end}`);
  }

  read(id: string, start: number, end: number): Promise<Buffer> {
    return joinChunks(this.readChunks(id, start, end));
  }

  async truncate(id: string, size: number): Promise<void> {
    try {
      await this.db.transaction((client) => cutChunks(client, id, size));
    } catch (err) {
      throw storageError(err, `Truncating resource ${id}`);
    }
  }

  async delete(id: string): Promise<void> {
    try {
      await this.db.pool.query('DELETE FROM resource_chunks WHERE resource_id = $1', [id]);
    } catch (err) {
      throw storageError(err, `Deleting resource ${id}`);
    }
  }

  async close(): Promise<void> {
    // Nothing is held open between reads.
  }
}
