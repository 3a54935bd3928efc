/**
 * Spool nodes as separate server processes sharing a PostgreSQL database (catalog,
 * leases), a Redis key prefix (events) and a shared directory (bytes): what
 * docs/cluster.md deploys, on this machine. Each cluster gets its own database and
 * prefix, dropped at `stop()`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { freshPostgresDatabase, freshRedisPrefix, TEST_REDIS_URL } from '@spool/server/testing';
import { type CliServer, exited, freePort, startCli } from './cli-process.js';
import { freshDataDir } from './server.js';

export class TestCluster {
  readonly nodes: CliServer[] = [];

  private constructor(
    readonly env: Record<string, string>,
    private readonly dropDatabase: () => Promise<void>,
  ) {}

  /** A cluster with no node yet; `extraEnv` (e.g. SPOOL_BYTES, SPOOL_REDIS_URL) overrides the defaults. */
  static async create(extraEnv: Record<string, string> = {}): Promise<TestCluster> {
    const db = await freshPostgresDatabase();
    const env = {
      SPOOL_CATALOG: 'postgres',
      SPOOL_EVENTS: 'redis',
      SPOOL_BYTES: 'shared-dir',
      SPOOL_DATABASE_URL: db.url,
      SPOOL_REDIS_URL: TEST_REDIS_URL,
      SPOOL_REDIS_KEY_PREFIX: freshRedisPrefix(),
      SPOOL_SHARED_DIR: freshDataDir(),
      SPOOL_CHECKPOINT_INTERVAL_MS: '20',
      SPOOL_WRITER_LEASE_TTL_MS: '1500',
      ...extraEnv,
    };
    return new TestCluster(env, db.drop);
  }

  /** Starts one more node (its own port and local data dir). */
  async start(env: Record<string, string> = {}): Promise<CliServer> {
    const node = await startCli({ ...this.env, SPOOL_DATA_DIR: freshDataDir(), SPOOL_PORT: String(await freePort()), ...env });
    this.nodes.push(node);
    return node;
  }

  /** Stops every node still running (SIGKILL: these tests do not test shutdown) and drops the database. */
  async stop(): Promise<void> {
    for (const node of this.nodes.splice(0)) {
      if (node.child.signalCode === 'SIGSTOP') node.child.kill('SIGCONT');
      node.child.kill('SIGKILL');
      await exited(node.child);
    }
    await this.dropDatabase();
  }
}

/** The port of a node's URL. */
export const portOf = (node: CliServer): number => Number(new URL(node.url).port);

/** A Redis of its own on a free port (for a test that restarts it), without persistence. */
export class OwnRedis {
  private child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  static async start(): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort());
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts it (again); resolves once it accepts connections. */
  async restart(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${output}`)), 10_000);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`redis-server cannot run (is Redis installed? .ci/run installs it): ${err.message}`));
      });
      child.stdout?.on('data', (d: Buffer) => {
        output += d.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }

  /** Kills it (SIGKILL: a crash, nothing flushed). */
  async kill(): Promise<void> {
    if (!this.child) return;
    this.child.kill('SIGKILL');
    await exited(this.child);
    this.child = undefined;
  }
}
