import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freshPostgresDatabase, freshRedisPrefix, TEST_REDIS_URL } from '@spool/server/testing';
import { ServerProcess } from '../process.js';
import {
  type BenchContext,
  findRow,
  measureRows,
  medianThroughput,
  type RowDefinition,
  type RunMeasurement,
  ratioTarget,
  rssTarget,
  type Scenario,
  type ScenarioReport,
  timeTransfer,
  verify,
} from '../scenario.js';
import { SpoolServerProcess } from '../spool-server.js';

const peersDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'peers');
const RSS_LIMIT_BYTES = 150e6;

interface CurlOutput {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCurl(args: string[]): Promise<CurlOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['--silent', '--show-error', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * One transfer as users type it: `curl URL` (the receiver, writing to /dev/null and
 * reporting the byte count), then `curl -T file URL` (the sender). Resolves once both exit.
 */
async function curlThroughPipe(url: string, file: string, sizeBytes: number): Promise<string[]> {
  const receiver = runCurl(['--fail', '--output', '/dev/null', '--write-out', '%{size_download}', url]);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const sender = runCurl(['--fail', '-T', file, url]);
  const [got, sent] = await Promise.all([receiver, sender]);
  verify(got.code === 0, `receiver curl exited ${got.code}: ${got.stderr}`);
  verify(sent.code === 0, `sender curl exited ${sent.code}: ${sent.stderr}`);
  verify(Number(got.stdout) === sizeBytes, `the receiver got ${got.stdout} bytes of ${sizeBytes}`);
  return ['size (curl exit 0 both sides)'];
}

async function peerRun(context: BenchContext, name: string, script: string, pathPrefix: string): Promise<RunMeasurement> {
  const file = await context.fixtures.sourceFile();
  const peer = await ServerProcess.start({ name, script: path.join(peersDir, script) });
  try {
    const timed = await timeTransfer(peer, () => curlThroughPipe(`${peer.url}${pathPrefix}/bench/file.bin`, file, context.sizeBytes));
    const server = await peer.stop();
    return { bytes: context.sizeBytes, seconds: timed.seconds, cpu: timed.cpu, server, checks: timed.result };
  } finally {
    await peer.stop();
  }
}

async function spoolRun(context: BenchContext, dataDir: string): Promise<RunMeasurement> {
  const file = await context.fixtures.sourceFile();
  const server = await SpoolServerProcess.start({ dataDir, profileDir: context.profileDir });
  try {
    const timed = await timeTransfer(server.process, () =>
      curlThroughPipe(`${server.httpUrl}/pipe/bench/file.bin`, file, context.sizeBytes),
    );
    const memory = await server.stop();
    return { bytes: context.sizeBytes, seconds: timed.seconds, cpu: timed.cpu, server: memory, checks: timed.result };
  } finally {
    await server.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

/**
 * Two Spool nodes on PostgreSQL + Redis (docs/cluster.md); the receiver curl on node 1
 * (it arrives first: node 1 owns the path), the sender curl on node 1 (`same node`) or
 * node 2 (`cross node`: its request forwarded to node 1, one more hop). Server CPU is
 * both nodes' together.
 */
async function clusterRun(context: BenchContext, name: string, crossNode: boolean): Promise<RunMeasurement> {
  const file = await context.fixtures.sourceFile();
  const db = await freshPostgresDatabase();
  const env = {
    SPOOL_CATALOG: 'postgres',
    SPOOL_EVENTS: 'redis',
    SPOOL_BYTES: 'shared-dir',
    SPOOL_DATABASE_URL: db.url,
    SPOOL_REDIS_URL: TEST_REDIS_URL,
    SPOOL_REDIS_KEY_PREFIX: freshRedisPrefix(),
    SPOOL_SHARED_DIR: path.join(context.tempDir, `${name}-shared`),
  };
  const nodes: SpoolServerProcess[] = [];
  try {
    for (const i of [1, 2]) {
      nodes.push(
        await SpoolServerProcess.start({ dataDir: path.join(context.tempDir, `${name}-${i}`), profileDir: context.profileDir, env }),
      );
    }
    const [owner, other] = nodes as [SpoolServerProcess, SpoolServerProcess];
    const url = `/pipe/bench/file.bin`;
    const otherBefore = other.process.cpuSeconds();
    const timed = await timeTransfer(owner.process, async () => {
      const receiver = runCurl(['--fail', '--output', '/dev/null', '--write-out', '%{size_download}', `${owner.httpUrl}${url}`]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const sender = runCurl(['--fail', '-T', file, `${(crossNode ? other : owner).httpUrl}${url}`]);
      const [got, sent] = await Promise.all([receiver, sender]);
      verify(got.code === 0 && sent.code === 0, `curl exited ${got.code} / ${sent.code}: ${got.stderr} ${sent.stderr}`);
      verify(Number(got.stdout) === context.sizeBytes, `the receiver got ${got.stdout} bytes of ${context.sizeBytes}`);
      return ['size (curl exit 0 both sides)'];
    });
    const cpu = { ...timed.cpu, serverSeconds: timed.cpu.serverSeconds + other.process.cpuSeconds() - otherBefore };
    const memory = await owner.stop();
    return { bytes: context.sizeBytes, seconds: timed.seconds, cpu, server: memory, checks: timed.result };
  } finally {
    for (const node of nodes) await node.stop();
    await db.drop();
  }
}

export const pipeScenario: Scenario = {
  name: 'pipe',
  description: '`curl -T file` → `curl` through a pipe: plain node:http pass-through vs piping-server (npm) vs Spool /pipe/',
  async run(context: BenchContext): Promise<ScenarioReport> {
    await context.fixtures.sourceFile();
    let runIndex = 0;
    const rows: RowDefinition[] = [
      {
        key: '(a)',
        label: 'plain node:http PUT → GET pass-through (ceiling)',
        run: () => peerRun(context, 'http-pipe-server', 'http-pipe-server.js', ''),
      },
      { key: '(b)', label: 'piping-server 1.12 (npm, peer)', run: () => peerRun(context, 'piping-server', 'piping-server.js', '') },
      { key: '(c)', label: 'Spool /pipe/', run: () => spoolRun(context, path.join(context.tempDir, `spool-pipe-${++runIndex}`)) },
      {
        key: '(d)',
        label: 'Spool /pipe/, 2 cluster nodes, both curls on node 1 (same node)',
        run: () => clusterRun(context, `spool-pipe-cluster-${++runIndex}`, false),
      },
      {
        key: '(e)',
        label: 'Spool /pipe/, 2 cluster nodes, receiver on node 1, sender on node 2 (cross node: one hop)',
        baselineKey: '(d)',
        run: () => clusterRun(context, `spool-pipe-cluster-${++runIndex}`, true),
      },
    ];
    const results = await measureRows(context, 'pipe', rows);
    return {
      scenario: 'pipe',
      title: 'pipe: `curl -T file URL` → `curl URL` (both curl processes on this machine; each server in its own process)',
      sizeBytes: context.sizeBytes,
      baselineKey: '(a)',
      rows: results,
      targets: [
        ratioTarget(
          'Spool (c) ≥ 1.2× piping-server (b)',
          medianThroughput(findRow(results, '(c)')),
          medianThroughput(findRow(results, '(b)')),
          1.2,
        ),
        rssTarget('Spool server peak RSS ≤ 150 MB', [findRow(results, '(c)')], RSS_LIMIT_BYTES),
      ],
      notes: [
        'The receiver curl starts first and writes to /dev/null; the sender curl sends the fixture file (-T, with Content-Length). Bytes never touch the disk on any server.',
        '(d)/(e): two Spool nodes on PostgreSQL + Redis; the receiver arrives first on node 1, which owns the path; in (e) the sender goes to node 2, whose request is forwarded to node 1 (docs/cluster.md, "Pipes across nodes"). Server CPU there is both nodes\' together; (e)\'s ratio is against (d).',
        'Spool also registers each transfer as a core resource (two catalog writes per transfer, none per chunk) and applies access rules; piping-server pipes each receiver through a PassThrough.',
      ],
    };
  },
};
