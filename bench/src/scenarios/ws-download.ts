import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DownloadClient, SpoolDownloadClient, StepDownloadClient } from '@spool/impl-websocket';
import { reportedPeerMasking } from '../peers/peer-common.js';
import { receiveOverPlainWs } from '../plain-ws-client.js';
import { ServerProcess } from '../process.js';
import { rawStepDownload } from '../raw-step-download.js';
import {
  type BenchContext,
  findRow,
  measureRows,
  medianThroughput,
  noteForRow,
  type RowDefinition,
  type RunMeasurement,
  ratioTarget,
  rssTarget,
  type Scenario,
  type ScenarioReport,
  timeTransfer,
  verify,
} from '../scenario.js';
import { SpoolServerProcess, type SpoolUnmask } from '../spool-server.js';

const peersDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'peers');
const RSS_LIMIT_BYTES = 150e6;
const LARGE_CHUNK_BYTES = 16 * 1024 * 1024;
/** The SDK's default chunk (maxChunkBytes). */
const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;
const PIPELINED_REQUESTS = 4;

async function plainDownloadRun(context: BenchContext, sourceFile: string, peerMaskingSeen: Set<string>): Promise<RunMeasurement> {
  const peer = await ServerProcess.start({
    name: 'ws-send-file-server',
    script: path.join(peersDir, 'ws-send-file-server.js'),
    args: [sourceFile],
  });
  peerMaskingSeen.add(reportedPeerMasking(peer.output));
  try {
    const timed = await timeTransfer(peer, () => receiveOverPlainWs(peer.url, context.pattern));
    const received = timed.result;
    const server = await peer.stop();
    verify(received.bytes === context.sizeBytes, `received ${received.bytes} bytes of ${context.sizeBytes}`);
    verify(received.contentMatches, 'the bytes received differ from the file sent');
    return { bytes: received.bytes, seconds: timed.seconds, cpu: timed.cpu, server, checks: ['size', 'content'] };
  } finally {
    await peer.stop();
  }
}

/** Runs `download` against a fresh Spool server process on the seeded data directory. */
async function withSpoolServer(
  context: BenchContext,
  dataDir: string,
  unmaskSeen: Set<SpoolUnmask>,
  download: (server: SpoolServerProcess) => Promise<{ bytes: number; checks: string[] }>,
): Promise<RunMeasurement> {
  const server = await SpoolServerProcess.start({ dataDir, profileDir: context.profileDir });
  unmaskSeen.add(server.unmask);
  try {
    const timed = await timeTransfer(server.process, () => download(server));
    const { bytes, checks } = timed.result;
    const memory = await server.stop();
    verify(bytes === context.sizeBytes, `received ${bytes} bytes of ${context.sizeBytes}`);
    return { bytes, seconds: timed.seconds, cpu: timed.cpu, server: memory, checks };
  } finally {
    await server.stop();
  }
}

/** What an SDK user does for a full-speed download of a completed resource: open it and read follow() to the end. */
async function sdkFollow(
  context: BenchContext,
  uri: string,
  maxChunkBytes: number | undefined,
  protocol: 'step' | 'spool' = 'step',
): Promise<{ bytes: number; checks: string[] }> {
  const options = maxChunkBytes === undefined ? {} : { maxChunkBytes };
  const client: DownloadClient = protocol === 'spool' ? new SpoolDownloadClient(options) : new StepDownloadClient(options);
  const resource = await client.open(uri);
  let bytes = 0;
  let contentMatches = true;
  try {
    for await (const chunk of resource.follow()) {
      const bytesReceived = chunk as Buffer;
      if (contentMatches && !context.pattern.matches(bytes, bytesReceived)) contentMatches = false;
      bytes += bytesReceived.length;
    }
    verify(resource.status.state === 'COMPLETED', `follow() ended with the resource ${resource.status.state}`);
  } finally {
    await resource.close();
  }
  verify(contentMatches, 'the bytes received differ from the ones uploaded');
  return { bytes, checks: ['size', 'content'] };
}

/**
 * A raw Step client (not the SDK) reading the whole resource: `chunkBytes` per
 * RequestChunk with `requestsInFlight` outstanding. With one request of the whole size it
 * is what the Java download stream does once a resource is COMPLETED — `ws` then
 * assembles that single message in memory: the client holds the whole resource.
 */
async function rawStepRun(
  context: BenchContext,
  uri: string,
  chunkBytes: number,
  requestsInFlight: number,
): Promise<{ bytes: number; checks: string[] }> {
  let contentMatches = true;
  const bytes = await rawStepDownload(uri, { chunkBytes, requestsInFlight, maxPayload: 0 }, (offset, chunk) => {
    if (contentMatches && !context.pattern.matches(offset, chunk)) contentMatches = false;
  });
  verify(contentMatches, 'the bytes received differ from the ones uploaded');
  return { bytes, checks: ['size', 'content'] };
}

export const wsDownloadScenario: Scenario = {
  name: 'ws-download',
  description: 'download of a completed resource over WebSocket: plain ws file server vs Spool (SDK follow(), raw Step request)',
  async run(context: BenchContext): Promise<ScenarioReport> {
    const { sizeBytes } = context;
    const sourceFile = await context.fixtures.sourceFile();
    const { dataDir, resourceId } = await context.fixtures.completedResource();
    const spoolUnmask = new Set<SpoolUnmask>();
    const peerMaskingSeen = new Set<string>();
    const rows: RowDefinition[] = [
      {
        key: '(a)',
        label: 'plain ws file server → ws client, 1 MiB messages (baseline)',
        run: () => plainDownloadRun(context, sourceFile, peerMaskingSeen),
      },
      {
        key: '(b)',
        label: 'Spool → Step SDK open() + follow() (default 4 MiB chunks)',
        run: () =>
          withSpoolServer(context, dataDir, spoolUnmask, (server) => sdkFollow(context, server.downloadUri(resourceId), undefined)),
      },
      {
        key: '(c)',
        label: 'Spool → Step SDK open() + follow() (maxChunkBytes 16 MiB)',
        run: () =>
          withSpoolServer(context, dataDir, spoolUnmask, (server) => sdkFollow(context, server.downloadUri(resourceId), LARGE_CHUNK_BYTES)),
      },
      {
        key: '(d)',
        label: 'Spool → raw Step client, one RequestChunk [0, size)',
        run: () =>
          withSpoolServer(context, dataDir, spoolUnmask, (server) => rawStepRun(context, server.downloadUri(resourceId), sizeBytes, 1)),
      },
      {
        key: '(e)',
        label: 'Spool → raw Step client, 4 MiB RequestChunks, 4 in flight',
        run: () =>
          withSpoolServer(context, dataDir, spoolUnmask, (server) =>
            rawStepRun(context, server.downloadUri(resourceId), DEFAULT_CHUNK_BYTES, PIPELINED_REQUESTS),
          ),
      },
      {
        key: '(f)',
        label: "Spool → Spool SDK open() + follow() (the SDK's default protocol: pushed, no requests)",
        run: () =>
          withSpoolServer(context, dataDir, spoolUnmask, (server) =>
            sdkFollow(context, server.downloadUri(resourceId), undefined, 'spool'),
          ),
      },
    ];
    const results = await measureRows(context, 'ws-download', rows);
    const baseline = medianThroughput(findRow(results, '(a)'));
    return {
      scenario: 'ws-download',
      title: 'Download of a completed resource over WebSocket (client in the benchmark process, each server in its own process)',
      sizeBytes,
      baselineKey: '(a)',
      rows: results,
      targets: [
        ratioTarget('Spool download (b, SDK defaults) ≥ 0.8× plain ws (a)', medianThroughput(findRow(results, '(b)')), baseline, 0.8),
        rssTarget(
          'Spool server peak RSS < 150 MB',
          [findRow(results, '(b)'), findRow(results, '(c)'), findRow(results, '(d)')],
          RSS_LIMIT_BYTES,
        ),
      ],
      notes: [
        `Server → client frames are not masked; the client verifies every byte against the data (memcmp per MiB) in every row. Plain peer's ws: ${[...peerMaskingSeen].join(', ')}; Spool server: ${[...spoolUnmask].join(', ')} (unused here).`,
        'Every run starts a fresh server process on data written just before (warm page cache for both the plain peer and Spool).',
        ...noteForRow(
          results,
          '(d)',
          `Row (d) receives one ${Math.round(sizeBytes / 1024 / 1024)} MiB message: the ws client buffers all of it (and its fragments) in memory, like the Java client after completion.`,
        ),
        ...noteForRow(
          results,
          '(e)',
          "Row (e) is a wire-level client with the SDK's chunk size and 4 requests pipelined (the Step server answers in order); the SDK keeps readAheadChunks (3) outstanding.",
        ),
      ],
    };
  },
};
