#!/usr/bin/env node
/**
 * `pnpm cluster`: three Spool nodes on this machine's PostgreSQL and Redis, sharing a
 * directory for bytes, behind a round-robin TCP balancer (no sticky sessions) on
 * 127.0.0.1:8080. Nodes on 8081-8083, data under ./data/cluster. Ctrl-C stops them all.
 *
 * Environment: SPOOL_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/spool_cluster,
 * created if missing), SPOOL_REDIS_URL (default redis://127.0.0.1:6379), SPOOL_BYTES
 * (shared-dir or postgres), NODES (default 3), BALANCER_PORT (default 8080).
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'packages/server/dist/cli.js');
const nodes = Number(process.env.NODES ?? 3);
const balancerPort = Number(process.env.BALANCER_PORT ?? 8080);
const databaseUrl = process.env.SPOOL_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/spool_cluster';
const dataRoot = path.join(root, 'data', 'cluster');

// The database: created when missing (PostgreSQL's own `postgres` database is used to do it).
const pg = createRequire(path.join(root, 'packages/server/package.json'))('pg');
const admin = new pg.Client({ connectionString: databaseUrl.replace(/\/[^/?]*(\?|$)/, '/postgres$1') });
try {
  await admin.connect();
  const name = new URL(databaseUrl).pathname.slice(1);
  const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
} catch (err) {
  console.error(`cluster: cannot prepare the database at ${databaseUrl}: ${err.message}`);
  process.exit(1);
} finally {
  await admin.end().catch(() => undefined);
}

mkdirSync(path.join(dataRoot, 'shared'), { recursive: true, mode: 0o700 });
const children = [];
for (let i = 1; i <= nodes; i++) {
  const child = spawn(process.execPath, [cli], {
    stdio: 'inherit',
    env: {
      SPOOL_CATALOG: 'postgres',
      SPOOL_EVENTS: 'redis',
      SPOOL_BYTES: 'shared-dir',
      SPOOL_DATABASE_URL: databaseUrl,
      SPOOL_REDIS_URL: 'redis://127.0.0.1:6379',
      SPOOL_SHARED_DIR: path.join(dataRoot, 'shared'),
      SPOOL_LOG_FORMAT: 'pretty',
      ...process.env,
      SPOOL_PORT: String(balancerPort + i),
      SPOOL_DATA_DIR: path.join(dataRoot, `node${i}`),
      // Every node builds references from the balancer's address.
      SPOOL_PUBLIC_URL: process.env.SPOOL_PUBLIC_URL ?? `http://127.0.0.1:${balancerPort}`,
    },
  });
  child.on('exit', (code, signal) => {
    console.error(`cluster: node ${i} exited (${signal ?? code})`);
    if (!stopping) stop(1);
  });
  children.push(child);
}

// Round robin over the nodes that accept: a node that is down is skipped.
let next = 0;
const balancer = net.createServer((client) => {
  client.pause();
  const first = next++;
  const attempt = (k) => {
    if (k >= nodes) return client.destroy();
    const upstream = net.connect(balancerPort + 1 + ((first + k) % nodes), '127.0.0.1');
    upstream.once('error', () => attempt(k + 1));
    upstream.once('connect', () => {
      upstream.removeAllListeners('error');
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
      client.resume();
    });
  };
  attempt(0);
});
balancer.listen(balancerPort, '127.0.0.1', () => {
  console.error(
    `cluster: ${nodes} nodes on 127.0.0.1:${balancerPort + 1}-${balancerPort + nodes}, balancer on http://127.0.0.1:${balancerPort}`,
  );
});

let stopping = false;
function stop(code = 0) {
  stopping = true;
  balancer.close();
  for (const child of children) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 12_000).unref();
  Promise.all(children.map((child) => (child.exitCode === null ? new Promise((r) => child.once('exit', r)) : null))).then(() =>
    process.exit(code),
  );
}
process.on('SIGINT', () => stop());
process.on('SIGTERM', () => stop());
