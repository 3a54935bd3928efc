import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DownloadResponse, httpDownload, keepAliveAgent } from '../http-client.js';
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
const RANGE_BYTES = 16 * 1024 * 1024;
const RSS_LIMIT_BYTES = 150e6;

/** The whole content in one GET, or as consecutive `rangeBytes` Range requests over one keep-alive connection. */
async function download(url: string, context: BenchContext, rangeBytes: number | undefined): Promise<{ bytes: number; checks: string[] }> {
  const { pattern, sizeBytes } = context;
  const check = (response: DownloadResponse, expectedStatus: number, expectedBytes: number, what: string) => {
    verify(response.status === expectedStatus, `${what}: HTTP ${response.status}, expected ${expectedStatus}`);
    verify(response.bytes === expectedBytes, `${what}: ${response.bytes} bytes, expected ${expectedBytes}`);
    verify(response.contentMatches, `${what}: the bytes differ from the ones uploaded`);
  };
  if (rangeBytes === undefined) {
    check(await httpDownload(url, pattern), 200, sizeBytes, 'GET');
    return { bytes: sizeBytes, checks: ['size', 'content'] };
  }
  const agent = keepAliveAgent();
  try {
    for (let start = 0; start < sizeBytes; start += rangeBytes) {
      const end = Math.min(sizeBytes, start + rangeBytes);
      const response = await httpDownload(url, pattern, { agent, range: [start, end] });
      check(response, 206, end - start, `Range ${start}-${end - 1}`);
      verify(
        response.headers['content-range'] === `bytes ${start}-${end - 1}/${sizeBytes}`,
        `Content-Range ${response.headers['content-range']}`,
      );
    }
  } finally {
    agent.destroy();
  }
  return { bytes: sizeBytes, checks: ['size', 'content', 'Content-Range'] };
}

async function plainRun(context: BenchContext, sourceFile: string, rangeBytes: number | undefined): Promise<RunMeasurement> {
  const peer = await ServerProcess.start({
    name: 'http-file-server',
    script: path.join(peersDir, 'http-file-server.js'),
    args: [sourceFile],
  });
  try {
    const timed = await timeTransfer(peer, () => download(`${peer.url}/`, context, rangeBytes));
    const server = await peer.stop();
    return { bytes: timed.result.bytes, seconds: timed.seconds, cpu: timed.cpu, server, checks: timed.result.checks };
  } finally {
    await peer.stop();
  }
}

async function spoolRun(
  context: BenchContext,
  dataDir: string,
  resourceId: string,
  rangeBytes: number | undefined,
): Promise<RunMeasurement> {
  const server = await SpoolServerProcess.start({ dataDir, profileDir: context.profileDir });
  try {
    const url = `${server.httpUrl}/api/v1/resources/${resourceId}/content`;
    const timed = await timeTransfer(server.process, () => download(url, context, rangeBytes));
    const memory = await server.stop();
    return { bytes: timed.result.bytes, seconds: timed.seconds, cpu: timed.cpu, server: memory, checks: timed.result.checks };
  } finally {
    await server.stop();
  }
}

export const httpDownloadScenario: Scenario = {
  name: 'http-download',
  description: 'GET of a completed resource, whole and in 16 MiB ranges: plain node:http + fs.createReadStream vs Spool',
  async run(context: BenchContext): Promise<ScenarioReport> {
    const { sizeBytes } = context;
    const sourceFile = await context.fixtures.sourceFile();
    const { dataDir, resourceId } = await context.fixtures.completedResource();
    const rangeMib = RANGE_BYTES / 1024 / 1024;
    const rows: RowDefinition[] = [
      { key: '(a)', label: 'plain node:http GET, whole file (baseline)', run: () => plainRun(context, sourceFile, undefined) },
      { key: '(b)', label: 'Spool GET …/content, whole resource', run: () => spoolRun(context, dataDir, resourceId, undefined) },
      { key: '(c)', label: `plain node:http, ${rangeMib} MiB Range requests`, run: () => plainRun(context, sourceFile, RANGE_BYTES) },
      {
        key: '(d)',
        label: `Spool …/content, ${rangeMib} MiB Range requests`,
        run: () => spoolRun(context, dataDir, resourceId, RANGE_BYTES),
      },
    ];
    const results = await measureRows(context, 'http-download', rows);
    const throughput = (key: string) => medianThroughput(findRow(results, key));
    return {
      scenario: 'http-download',
      title: 'HTTP download of a completed resource (node:http client in the benchmark process, each server in its own process)',
      sizeBytes,
      baselineKey: '(a)',
      rows: results,
      targets: [
        ratioTarget('Spool whole GET (b) ≥ 0.9× plain (a)', throughput('(b)'), throughput('(a)'), 0.9),
        ratioTarget(`Spool ${rangeMib} MiB ranges (d) ≥ 0.9× plain ranges (c)`, throughput('(d)'), throughput('(c)'), 0.9),
        rssTarget('Spool server peak RSS < 150 MB', [findRow(results, '(b)'), findRow(results, '(d)')], RSS_LIMIT_BYTES),
      ],
      notes: [
        'Ranges are fetched one after the other over one keep-alive connection; every byte is checked against the data.',
        'Every run starts a fresh server process on data written just before (warm page cache on both sides).',
      ],
    };
  },
};
