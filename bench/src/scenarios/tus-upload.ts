import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Upload } from 'tus-js-client';
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
import { type SpoolResourceJson, SpoolServerProcess, verifySpoolUpload } from '../spool-server.js';

const peersDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'peers');
const RSS_LIMIT_BYTES = 150e6;

/**
 * One tus-js-client upload of the fixture file, as an application in Node does it: a file
 * stream (tus-js-client reads the file by path), the default chunkSize (one PATCH for
 * the whole file), no retries. Resolves with the upload URL.
 */
function tusUpload(endpoint: string, file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const upload = new Upload(createReadStream(file) as unknown as Buffer, {
      endpoint,
      retryDelays: null,
      metadata: { filename: 'bench.log', filetype: 'text/plain' },
      onSuccess: () => resolve(upload.url as string),
      onError: reject,
    });
    upload.start();
  });
}

const idOf = (url: string) => url.slice(url.lastIndexOf('/') + 1);

async function peerRun(context: BenchContext, directory: string): Promise<RunMeasurement> {
  const { pattern, sizeBytes } = context;
  const file = await context.fixtures.sourceFile();
  await fs.mkdir(directory, { recursive: true });
  const peer = await ServerProcess.start({ name: 'tus-server', script: path.join(peersDir, 'tus-server.js'), args: [directory] });
  try {
    const timed = await timeTransfer(peer, () => tusUpload(`${peer.url}/files`, file));
    const server = await peer.stop();
    const stored = await pattern.verifyFile(path.join(directory, idOf(timed.result)), sizeBytes);
    verify(stored.ok, `@tus/file-store holds ${stored.size} bytes, ${stored.ok ? '' : 'not '}the ones sent`);
    return { bytes: sizeBytes, seconds: timed.seconds, cpu: timed.cpu, server, checks: ['size', 'stored content'] };
  } finally {
    await peer.stop();
    await fs.rm(directory, { recursive: true, force: true });
  }
}

/** The ceiling: the same client against a tus server that counts and discards the bytes. */
async function ceilingRun(context: BenchContext): Promise<RunMeasurement> {
  const { sizeBytes } = context;
  const file = await context.fixtures.sourceFile();
  const peer = await ServerProcess.start({ name: 'tus-count-server', script: path.join(peersDir, 'tus-count-server.js') });
  try {
    const timed = await timeTransfer(peer, () => tusUpload(`${peer.url}/files`, file));
    const head = await fetch(timed.result, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });
    const counted = Number(head.headers.get('upload-offset'));
    const server = await peer.stop();
    verify(counted === sizeBytes, `the count-only server counted ${counted} bytes of ${sizeBytes}`);
    return { bytes: sizeBytes, seconds: timed.seconds, cpu: timed.cpu, server, checks: ['size'] };
  } finally {
    await peer.stop();
  }
}

/** `hashed`: tusUploadChecksum md5; else the default (CRC-32). */
async function spoolRun(context: BenchContext, dataDir: string, hashed: boolean): Promise<RunMeasurement> {
  const { pattern, sizeBytes } = context;
  const file = await context.fixtures.sourceFile();
  const server = await SpoolServerProcess.start({
    dataDir,
    profileDir: context.profileDir,
    env: hashed ? { SPOOL_TUS_UPLOAD_CHECKSUM: 'md5' } : {},
  });
  try {
    const timed = await timeTransfer(server.process, () => tusUpload(`${server.httpUrl}/files/`, file));
    const described = await fetch(`${server.httpUrl}/api/v1/resources/${idOf(timed.result)}`);
    const resource = (await described.json()) as SpoolResourceJson;
    const memory = await server.stop();
    const checks = await verifySpoolUpload(pattern, sizeBytes, dataDir, resource, hashed ? ['md5'] : ['crc32']);
    return { bytes: sizeBytes, seconds: timed.seconds, cpu: timed.cpu, server: memory, checks };
  } finally {
    await server.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

export const tusUploadScenario: Scenario = {
  name: 'tus-upload',
  description: 'tus-js-client uploading a 1 GiB file: @tus/server + @tus/file-store vs Spool’s tus endpoint',
  async run(context: BenchContext): Promise<ScenarioReport> {
    context.pattern.md5(context.sizeBytes); // computed once, outside the timings
    await context.fixtures.sourceFile();
    let runIndex = 0;
    const rows: RowDefinition[] = [
      {
        key: '(a)',
        label: '@tus/server + @tus/file-store (peer)',
        run: () => peerRun(context, path.join(context.tempDir, `tus-peer-${++runIndex}`)),
      },
      {
        key: '(b)',
        label: 'Spool /files/ (defaults)',
        run: () => spoolRun(context, path.join(context.tempDir, `spool-tus-${++runIndex}`), false),
      },
      {
        key: '(c)',
        label: 'Spool /files/, tusUploadChecksum md5',
        run: () => spoolRun(context, path.join(context.tempDir, `spool-tus-${++runIndex}`), true),
      },
      {
        key: '(d)',
        label: 'count-only tus server, bytes discarded (ceiling)',
        run: () => ceilingRun(context),
      },
    ];
    const results = await measureRows(context, 'tus-upload', rows);
    const peer = medianThroughput(findRow(results, '(a)'));
    return {
      scenario: 'tus-upload',
      title: 'tus upload (tus-js-client 4 in the benchmark process, one PATCH of the file; each server in its own process)',
      sizeBytes: context.sizeBytes,
      baselineKey: '(a)',
      rows: results,
      targets: [
        ratioTarget('Spool (b) ≥ 1.5× @tus/server (a)', medianThroughput(findRow(results, '(b)')), peer, 1.5),
        rssTarget('Spool server peak RSS < 150 MB', [findRow(results, '(b)'), findRow(results, '(c)')], RSS_LIMIT_BYTES),
      ],
      notes: [
        'Same client, same file, same request sequence (POST, then one PATCH with the whole file); both servers write to a file and neither fsyncs.',
        'The ceiling (d) stores nothing: (d) ÷ (a) is the most any server can reach against @tus/server with this client on this machine; the client shares the cores with the server.',
        'Spool also indexes the lines of every byte and makes them visible to readers every 100 ms (a catalog checkpoint); in (c) it also hashes them (MD5 on a worker thread, ~420 MiB/s on one core here); @tus/server only writes.',
      ],
    };
  },
};
