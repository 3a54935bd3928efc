import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChecksumAlgorithm, Checksums } from '@spool/common';
import { SpoolUploadClient, type SpoolUploadClientOptions, StepUploadClient, webSocketMaskingInfo } from '@spool/impl-websocket';
import { plainWsMasking } from '../masking.js';
import { reportedPeerMasking } from '../peers/peer-common.js';
import { PLAIN_MESSAGE_BYTES, sendOverPlainWs } from '../plain-ws-client.js';
import { ServerProcess } from '../process.js';
import { rawStepUpload } from '../raw-step-upload.js';
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
/** What the Spool rows upload as: a log, so the server also indexes lines (the usual case). */
const UPLOAD_REQUEST = { filename: 'bench.log', mimeType: 'text/plain', supportsLineAccess: true } as const;
/** Chunks the SDK's source iterable yields (the SDK cuts them into its own frames). */
const SOURCE_CHUNK_BYTES = 1024 * 1024;
const RSS_LIMIT_BYTES = 150e6;

/** Plain `ws` client → a plain peer in its own process; returns the measurement. */
async function plainUploadRun(
  context: BenchContext,
  peerScript: string,
  targetFile: string | undefined,
  peerMaskingSeen: Set<string>,
): Promise<RunMeasurement> {
  const { pattern, sizeBytes } = context;
  const peer = await ServerProcess.start({
    name: peerScript,
    script: path.join(peersDir, peerScript),
    args: targetFile ? [targetFile] : [],
  });
  peerMaskingSeen.add(reportedPeerMasking(peer.output));
  try {
    const timed = await timeTransfer(peer, () => sendOverPlainWs(peer.url, pattern, sizeBytes));
    const summary = timed.result;
    const server = await peer.stop();
    verify(summary.bytes === sizeBytes, `${peerScript} received ${summary.bytes} bytes, ${sizeBytes} were sent`);
    verify(summary.messages === Math.ceil(sizeBytes / PLAIN_MESSAGE_BYTES), `${peerScript} counted ${summary.messages} messages`);
    const checks = ['size'];
    if (targetFile) {
      const file = await pattern.verifyFile(targetFile, sizeBytes);
      verify(file.ok, `${targetFile} holds ${file.size} bytes, ${file.ok ? '' : 'not '}the ones sent`);
      checks.push('file content');
    }
    return { bytes: sizeBytes, seconds: timed.seconds, cpu: timed.cpu, server, checks };
  } finally {
    await peer.stop();
    if (targetFile) await fs.rm(targetFile, { force: true });
  }
}

/**
 * Who uploads to Spool: the SDK over Spool's protocol (its options; `expected`: the
 * checksums the resource gets), the SDK over the Step protocol (MD5), or the raw Step
 * wire client.
 */
type SpoolUploader =
  | { kind: 'spool'; options: Omit<SpoolUploadClientOptions, 'url'>; expected: readonly ChecksumAlgorithm[] }
  | { kind: 'step' }
  | { kind: 'raw'; frameBytes: number };

interface Acknowledged {
  resourceId: string;
  size: number;
  checksums: Checksums;
  lines: number | null;
}

/** Uploads with `uploader`; returns what the server acknowledged. */
async function uploadTo(server: SpoolServerProcess, context: BenchContext, uploader: SpoolUploader): Promise<Acknowledged> {
  const { pattern, sizeBytes } = context;
  if (uploader.kind === 'raw') {
    const ack = await rawStepUpload(server.wsUrl, pattern, sizeBytes, uploader.frameBytes);
    return { ...ack, checksums: { md5: ack.checksum } };
  }
  const source = pattern.chunks(sizeBytes, SOURCE_CHUNK_BYTES);
  if (uploader.kind === 'step') {
    const result = await (await new StepUploadClient({ url: server.wsUrl }).upload(source, UPLOAD_REQUEST)).complete();
    return { resourceId: result.reference.id, size: result.size, checksums: { md5: result.checksum }, lines: result.lines };
  }
  const client = new SpoolUploadClient({ url: server.wsUrl, ...uploader.options });
  const result = await (await client.upload(source, UPLOAD_REQUEST)).complete();
  return { resourceId: result.reference.id, size: result.size, checksums: result.checksums, lines: result.lines };
}

/**
 * Uploads the first `sizeBytes` of the pattern to a Spool server started on `dataDir`
 * (removed afterwards), verifying the acknowledgement (size, MD5, lines) and the file
 * the server stored.
 */
async function spoolUploadRun(
  context: BenchContext,
  dataDir: string,
  uploader: SpoolUploader,
  onServerStarted: (server: SpoolServerProcess) => void,
): Promise<RunMeasurement> {
  const { pattern, sizeBytes } = context;
  const expectedChecksums = JSON.stringify(pattern.checksums(sizeBytes, uploader.kind === 'spool' ? uploader.expected : ['md5']));
  const expectedLines = pattern.lines(sizeBytes);
  const server = await SpoolServerProcess.start({ dataDir, profileDir: context.profileDir });
  onServerStarted(server);
  try {
    const timed = await timeTransfer(server.process, () => uploadTo(server, context, uploader));
    const result = timed.result;
    const memory = await server.stop();
    verify(result.size === sizeBytes, `Spool acknowledged ${result.size} bytes, ${sizeBytes} were sent`);
    const checksums = JSON.stringify(result.checksums);
    verify(checksums === expectedChecksums, `Spool acknowledged checksums ${checksums}, the data's are ${expectedChecksums}`);
    verify(result.lines === expectedLines, `Spool counted ${result.lines} lines, the data has ${expectedLines}`);
    const blob = await pattern.verifyFile(SpoolServerProcess.blobPath(dataDir, result.resourceId), sizeBytes);
    verify(blob.ok, `Spool stored ${blob.size} bytes for ${result.resourceId}, ${blob.ok ? '' : 'not '}the ones sent`);
    return {
      bytes: sizeBytes,
      seconds: timed.seconds,
      cpu: timed.cpu,
      server: memory,
      checks: ['size', Object.keys(result.checksums).join('+') || 'no checksum', 'lines', 'stored content'],
    };
  } finally {
    await server.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

export const wsUploadScenario: Scenario = {
  name: 'ws-upload',
  description: 'upload over WebSocket: plain ws → count-only / file-writing server vs the Spool SDK → Spool server',
  async run(context: BenchContext): Promise<ScenarioReport> {
    context.pattern.checksums(context.sizeBytes, ['crc32', 'md5']); // computed once, outside the timings
    let runIndex = 0;
    const unmaskSeen = new Set<SpoolUnmask>();
    const peerMaskingSeen = new Set<string>();
    const spoolRow = (uploader: SpoolUploader) => async () => {
      const dataDir = path.join(context.tempDir, `spool-upload-${++runIndex}`);
      return spoolUploadRun(context, dataDir, uploader, (server) => unmaskSeen.add(server.unmask));
    };
    const rows: RowDefinition[] = [
      {
        key: '(a)',
        label: 'plain ws → count-only server (ceiling)',
        run: () => plainUploadRun(context, 'ws-count-server.js', undefined, peerMaskingSeen),
      },
      {
        key: '(b)',
        label: 'plain ws → file-writing server (baseline)',
        run: () => plainUploadRun(context, 'ws-file-server.js', path.join(context.tempDir, `ws-file-${++runIndex}.bin`), peerMaskingSeen),
      },
      {
        key: '(c)',
        label: 'Spool SDK → Spool server (defaults: CRC-32, verified end to end)',
        run: spoolRow({ kind: 'spool', options: {}, expected: ['crc32'] }),
      },
      {
        key: '(d)',
        label: 'Spool SDK → Spool server, checksums md5 (server-side MD5)',
        run: spoolRow({ kind: 'spool', options: { checksums: ['md5'], verifyChecksum: false }, expected: ['md5'] }),
      },
      {
        key: '(e)',
        label: 'Spool SDK → Spool server, no checksum',
        run: spoolRow({ kind: 'spool', options: { checksums: [], verifyChecksum: false }, expected: [] }),
      },
      { key: '(f)', label: 'Step SDK → Spool server (Step protocol: MD5)', run: spoolRow({ kind: 'step' }) },
      {
        key: '(g)',
        label: 'raw Step client → Spool server (1 MiB frames, MD5 precomputed)',
        run: spoolRow({ kind: 'raw', frameBytes: 1024 * 1024 }),
      },
    ];
    const results = await measureRows(context, 'ws-upload', rows);
    const baseline = medianThroughput(findRow(results, '(b)'));
    const sdkMasking = webSocketMaskingInfo();
    return {
      scenario: 'ws-upload',
      title: 'Upload over WebSocket (client in the benchmark process, each server in its own process)',
      sizeBytes: context.sizeBytes,
      baselineKey: '(b)',
      rows: results,
      targets: [
        ratioTarget('Spool upload (c, SDK defaults) ≥ 1.0× baseline (b)', medianThroughput(findRow(results, '(c)')), baseline, 1.0),
        rssTarget(
          'Spool server peak RSS < 150 MB',
          ['(c)', '(d)', '(e)', '(f)', '(g)'].map((key) => findRow(results, key)),
          RSS_LIMIT_BYTES,
        ),
      ],
      notes: [
        `Client masking — plain ws client: ${plainWsMasking()}; Spool SDK (webSocketMaskingInfo): ${sdkMasking.implementation}${sdkMasking.reason ? ` (${sdkMasking.reason})` : ''}.`,
        `Server unmasking — plain ws peers (reported by the processes): ${[...peerMaskingSeen].join(', ')}; Spool server (reported by the process): ${[...unmaskSeen].join(', ') || 'unknown'}.`,
        'Plain ws sends 1 MiB binary messages (≤ 8 MiB queued). The Spool SDK (Spool protocol, rows c–e) sends `frameSize` binary messages and keeps unacknowledged bytes for resume; by default (c) it computes a CRC-32 as it sends and the server verifies it at finish (no server trust needed), and so does the server of every byte. The Step SDK (f) does not hash: the server computes the MD5 its protocol needs.',
        'The Spool rows upload text/plain with line access: the server indexes lines of every byte and computes the chosen checksums (CRC-32 inline; MD5 on a worker thread, one core at most).',
        ...noteForRow(
          results,
          '(g)',
          'Row (g) is a wire-level Step client that sends 1 MiB frames and does no hashing (the MD5 is known beforehand): what the server alone can take with MD5.',
        ),
      ],
    };
  },
};
