import { freshPostgresDatabase, freshRedisPrefix, TEST_REDIS_URL } from '@spool/server/testing';
import { rawStepUpload } from '../raw-step-upload.js';
import {
  type BenchContext,
  type LatencyResult,
  measureRows,
  type RowDefinition,
  type Scenario,
  type ScenarioReport,
  timeTransfer,
  verify,
} from '../scenario.js';
import { SpoolServerProcess } from '../spool-server.js';
import { connectFollowers, type FollowerResult, follow, LatencyHistogram, produce, WRITES } from './follow-latency.js';

const FOLLOWERS = 1000;
const NODES = 3;
/** Step upload frames, as the ws-upload scenario sends them. */
const FRAME_BYTES = 1024 * 1024;
const P99_TARGET_MS = 50;
/** Checkpoint interval of every node in the latency part: a write waits up to one before anyone sees it, so the default 100 ms alone would exceed the target. */
const CHECKPOINT_MS = 20;

/** What the rows compare: one embedded node, or three nodes on PostgreSQL + Redis with shared bytes. */
const DEPLOYMENTS = [
  { key: '(a)', label: '1 embedded node (SQLite, files, in-process events)', cluster: undefined },
  { key: '(b)', label: `${NODES} nodes: PostgreSQL catalog, Redis events, shared-dir bytes`, cluster: 'shared-dir' },
  { key: '(c)', label: `${NODES} nodes: PostgreSQL catalog, Redis events, PostgreSQL bytes`, cluster: 'postgres' },
  // The shared directory is local here: coherent without a sync (as CephFS is); NFS needs (b).
  { key: '(d)', label: `${NODES} nodes: as (b), shared-dir without a sync per checkpoint`, cluster: 'shared-dir', sync: false },
] as const;

type Deployment = (typeof DEPLOYMENTS)[number];

/** The nodes of one deployment, started fresh (own database, key prefix and directories). */
async function startDeployment(context: BenchContext, deployment: Deployment, name: string, extraEnv: Record<string, string> = {}) {
  if (!deployment.cluster) {
    const node = await SpoolServerProcess.start({ dataDir: `${context.tempDir}/${name}`, profileDir: context.profileDir, env: extraEnv });
    return { nodes: [node], stop: async () => void (await node.stop()) };
  }
  const db = await freshPostgresDatabase();
  const env = {
    SPOOL_CATALOG: 'postgres',
    SPOOL_EVENTS: 'redis',
    SPOOL_BYTES: deployment.cluster,
    SPOOL_DATABASE_URL: db.url,
    SPOOL_REDIS_URL: TEST_REDIS_URL,
    SPOOL_REDIS_KEY_PREFIX: freshRedisPrefix(),
    SPOOL_SHARED_DIR: `${context.tempDir}/${name}-shared`,
    SPOOL_SHARED_DIR_SYNC: String(!('sync' in deployment && deployment.sync === false)),
    ...extraEnv,
  };
  const nodes: SpoolServerProcess[] = [];
  try {
    for (let i = 0; i < NODES; i++) {
      nodes.push(await SpoolServerProcess.start({ dataDir: `${context.tempDir}/${name}-${i}`, profileDir: context.profileDir, env }));
    }
  } catch (err) {
    for (const node of nodes) await node.stop();
    await db.drop();
    throw err;
  }
  return {
    nodes,
    stop: async () => {
      for (const node of nodes) await node.stop();
      await db.drop();
    },
  };
}

/**
 * One producer on node 1 writing 1000 small lines a second; 1000 followers spread evenly
 * over the nodes. Latencies of every follower, and of those on other nodes than the
 * producer's (what crossing nodes costs: Redis, the shared store, the remote window).
 */
async function measureFollow(context: BenchContext, deployment: Deployment): Promise<LatencyResult[]> {
  const { nodes, stop } = await startDeployment(context, deployment, `follow-${deployment.key.replace(/\W/g, '')}`, {
    SPOOL_CHECKPOINT_INTERVAL_MS: String(CHECKPOINT_MS),
  });
  const sameNode = new LatencyHistogram();
  const crossNode = new LatencyHistogram();
  const sentAt = new Float64Array(WRITES);
  let followers: Promise<FollowerResult>[] = [];
  try {
    const producer = nodes[0] as SpoolServerProcess;
    const produced = await produce(producer.wsUrl, sentAt, async (id) => {
      // Spread evenly: follower i on node i mod N.
      followers = await connectFollowers(FOLLOWERS, (i) => {
        const index = i % nodes.length;
        return follow((nodes[index] as SpoolServerProcess).wsUrl, id, sentAt, index === 0 ? sameNode : crossNode);
      });
    });
    const results = await Promise.all(followers);
    followers = [];
    for (const result of results) {
      verify(result.sha256 === produced.sha256, 'a follower received different bytes than were written');
      verify(result.records === WRITES, `a follower received ${result.records} of ${WRITES} writes`);
    }
    const memories = await Promise.all(nodes.map((node) => node.stop()));
    const peak = memories.reduce((worst, memory) => (memory.peakRssBytes > worst.peakRssBytes ? memory : worst));
    const held = `${results.length} of ${FOLLOWERS} followers held to the end`;
    const line = (key: string, label: string, histogram: LatencyHistogram): LatencyResult => ({
      key,
      label,
      requests: histogram.count,
      p50Ms: histogram.percentile(0.5),
      p90Ms: histogram.percentile(0.9),
      p99Ms: histogram.percentile(0.99),
      maxMs: histogram.max,
      server: peak,
      checks: [held, 'every follower: SHA-256 and count of writes'],
    });
    if (!deployment.cluster) {
      return [line(deployment.key, `${deployment.label}: ${FOLLOWERS} followers`, sameNode)];
    }
    const onOthers = FOLLOWERS - Math.ceil(FOLLOWERS / nodes.length);
    return [
      line(`${deployment.key}-cross`, `${deployment.label}: the ${onOthers} followers on other nodes than the producer`, crossNode),
      line(`${deployment.key}-local`, `${deployment.label}: the ${FOLLOWERS - onOthers} followers on the producer's node`, sameNode),
    ];
  } finally {
    await stop();
  }
}

export const clusterFollowScenario: Scenario = {
  name: 'cluster-follow',
  description: `${NODES} nodes on PostgreSQL + Redis (shared-dir or PostgreSQL bytes) vs 1 embedded node: cross-node follow latency at ${FOLLOWERS} followers, upload throughput`,
  async run(context: BenchContext): Promise<ScenarioReport> {
    const selected = DEPLOYMENTS.filter((d) => !context.rowFilter || context.rowFilter.has(d.key.replace(/[()]/g, '')));
    const latencies: LatencyResult[] = [];
    for (const deployment of selected) {
      const lines = await measureFollow(context, deployment);
      latencies.push(...lines);
      for (const line of lines) context.log(`cluster-follow ${line.key}: p50 ${line.p50Ms.toFixed(1)} ms, p99 ${line.p99Ms.toFixed(1)} ms`);
    }
    // Upload throughput: one Step upload of --size-mb to node 1, no followers.
    const rows: RowDefinition[] = DEPLOYMENTS.map((deployment) => ({
      key: deployment.key,
      label: `upload to ${deployment.label}`,
      async run() {
        const { nodes, stop } = await startDeployment(context, deployment, `upload-${deployment.key.replace(/\W/g, '')}-${Date.now()}`);
        try {
          const node = nodes[0] as SpoolServerProcess;
          const timed = await timeTransfer(node.process, () => rawStepUpload(node.wsUrl, context.pattern, context.sizeBytes, FRAME_BYTES));
          verify(timed.result.size === context.sizeBytes, `server stored ${timed.result.size} of ${context.sizeBytes} bytes`);
          verify(timed.result.checksum === context.pattern.md5(context.sizeBytes), 'MD5 differs from the source');
          return { bytes: context.sizeBytes, seconds: timed.seconds, cpu: timed.cpu, server: await node.stop(), checks: ['size', 'MD5'] };
        } finally {
          await stop();
        }
      },
    }));
    const measured = await measureRows(context, 'cluster-follow', rows);
    const targets = latencies
      .filter((line) => line.key.endsWith('-cross'))
      .map((line) => ({
        description: `cross-node follow p99 ≤ ${P99_TARGET_MS} ms at ${FOLLOWERS} followers over ${NODES} nodes ${line.key}`,
        actual: `${line.p99Ms.toFixed(1)} ms`,
        pass: line.p99Ms <= P99_TARGET_MS,
      }));
    return {
      scenario: 'cluster-follow',
      title: `Cluster: ${WRITES} writes at 1000/s followed by ${FOLLOWERS} followers spread over the nodes; upload throughput per deployment`,
      sizeBytes: context.sizeBytes,
      baselineKey: '(a)',
      rows: measured,
      latencies,
      targets,
      notes: [
        `Every node (and the benchmark) runs on this machine with its PostgreSQL and Redis; latency rows checkpoint every ${CHECKPOINT_MS} ms (SPOOL_CHECKPOINT_INTERVAL_MS), upload rows use the default (100 ms).`,
        'Latency = time a follower received a write − time the producer sent it; the producer is always on node 1.',
        'Upload rows: one Step upload (1 MiB frames, MD5 on the server) to node 1, other nodes idle; shared-dir (b) syncs each checkpoint (what NFS needs), (d) does not.',
      ],
    };
  },
};
