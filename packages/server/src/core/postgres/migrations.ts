/**
 * The PostgreSQL schema, one migration per step, applied in order at start
 * (`spool_schema.version` counts those applied). Never edit an applied step: add one.
 *
 * Names are `COLLATE "C"` so a prefix is a byte range of the name index (as in SQLite).
 */
export const POSTGRES_MIGRATIONS: readonly string[] = [
  // 1: resources, line index, writer leases, byte chunks.
  `CREATE TABLE resources (
     seq BIGSERIAL PRIMARY KEY,
     id TEXT NOT NULL UNIQUE,
     name TEXT COLLATE "C",
     attributes JSONB NOT NULL DEFAULT '{}',
     filename TEXT COLLATE "C" NOT NULL,
     mime_type TEXT NOT NULL,
     supports_line_access BOOLEAN NOT NULL,
     context_id TEXT,
     resumable BOOLEAN NOT NULL DEFAULT FALSE,
     write_token_hash TEXT,
     read_token_hash TEXT,
     state TEXT NOT NULL,
     size BIGINT NOT NULL DEFAULT 0,
     newlines BIGINT NOT NULL DEFAULT 0,
     lines BIGINT NOT NULL DEFAULT 0,
     checksum TEXT,
     error TEXT,
     created_at BIGINT NOT NULL,
     updated_at BIGINT NOT NULL,
     completed_at BIGINT
   );
   CREATE INDEX resources_context ON resources (context_id, seq);
   CREATE INDEX resources_state ON resources (state, seq);
   CREATE INDEX resources_completed ON resources (completed_at) WHERE completed_at IS NOT NULL;
   CREATE INDEX resources_write_token ON resources (write_token_hash) WHERE write_token_hash IS NOT NULL;
   CREATE INDEX resources_read_token ON resources (read_token_hash) WHERE read_token_hash IS NOT NULL;
   CREATE UNIQUE INDEX resources_live_name ON resources (name) WHERE name IS NOT NULL AND state IN ('INITIATED', 'IN_PROGRESS');
   CREATE INDEX resources_name ON resources (name, seq) WHERE name IS NOT NULL;
   CREATE TABLE line_index (
     resource_id TEXT NOT NULL,
     block BIGINT NOT NULL,
     "offset" BIGINT NOT NULL,
     PRIMARY KEY (resource_id, block)
   );
   -- One row per resource that ever had a writer: whether one holds it, which node and
   -- until when, and the fencing token that every write and checkpoint of that writer must
   -- still carry (raised by each takeover of a held lease).
   CREATE TABLE writer_leases (
     resource_id TEXT PRIMARY KEY,
     token BIGINT NOT NULL,
     node_key BIGINT NOT NULL,
     held BOOLEAN NOT NULL,
     expires_at TIMESTAMPTZ NOT NULL
   );
   CREATE INDEX writer_leases_node ON writer_leases (node_key) WHERE held;
   CREATE INDEX writer_leases_expiry ON writer_leases (expires_at) WHERE held;
   -- Bytes of the PostgreSQL byte store: [start_offset, end_offset) of a resource per row.
   CREATE TABLE resource_chunks (
     resource_id TEXT NOT NULL,
     start_offset BIGINT NOT NULL,
     end_offset BIGINT NOT NULL,
     data BYTEA NOT NULL,
     PRIMARY KEY (resource_id, end_offset)
   );`,
  // 2: several checksums per resource (hex); the MD5s recorded so far are among them.
  `ALTER TABLE resources ADD COLUMN checksums JSONB NOT NULL DEFAULT '{}';
   UPDATE resources SET checksums = jsonb_build_object('md5', checksum) WHERE checksum IS NOT NULL;`,
  // 3: small resources stored whole keep their bytes here (a table apart, so listing never reads them).
  `ALTER TABLE resources ADD COLUMN stored_inline BOOLEAN NOT NULL DEFAULT FALSE;
   CREATE TABLE inline_bytes (resource_id TEXT PRIMARY KEY, bytes BYTEA NOT NULL);`,
];
