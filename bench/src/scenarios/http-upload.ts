import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpUpload } from '../http-client.js';
import { plainFileUploadRun } from '../plain-upload.js';
import {
  type BenchContext,
  findRow,
  measureRows,
  type RowDefinition,
  type RunMeasurement,
  rowRatioTarget,
  rssTarget,
  type Scenario,
  type ScenarioReport,
  timeTransfer,
  verify,
} from '../scenario.js';
import { type SpoolResourceJson, SpoolServerProcess, verifySpoolUpload } from '../spool-server.js';

const peersDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'peers');
const RSS_LIMIT_BYTES = 150e6;

async function plainRun(context: BenchContext, targetFile: string): Promise<RunMeasurement> {
  const { pattern, sizeBytes } = context;
  return plainFileUploadRun(
    context,
    { name: 'http-sink-server', script: path.join(peersDir, 'http-sink-server.js') },
    targetFile,
    (peer) => httpUpload(`${peer.url}/`, pattern, sizeBytes, { 'Content-Type': 'text/plain' }),
    (answer) => verify(answer.status === 201, `plain PUT answered ${answer.status}: ${answer.body}`),
  );
}

/** `hashed`: the default PUT (the server computes the MD5); else `?checksum=none`. */
async function spoolRun(context: BenchContext, dataDir: string, hashed: boolean): Promise<RunMeasurement> {
  const { pattern, sizeBytes } = context;
  const server = await SpoolServerProcess.start({ dataDir, profileDir: context.profileDir });
  try {
    const url = `${server.httpUrl}/api/v1/uploads/bench.log${hashed ? '' : '?checksum=none'}`;
    const timed = await timeTransfer(server.process, () => httpUpload(url, pattern, sizeBytes, { 'Content-Type': 'text/plain' }));
    const memory = await server.stop();
    verify(timed.result.status === 201, `Spool PUT answered ${timed.result.status}: ${timed.result.body}`);
    const resource = JSON.parse(timed.result.body) as SpoolResourceJson;
    const checks = await verifySpoolUpload(pattern, sizeBytes, dataDir, resource, hashed);
    return { bytes: sizeBytes, seconds: timed.seconds, cpu: timed.cpu, server: memory, checks };
  } finally {
    await server.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

export const httpUploadScenario: Scenario = {
  name: 'http-upload',
  description: 'PUT of a 1 GiB body: plain node:http piping the request into a file vs Spool PUT /api/v1/uploads/<name>',
  async run(context: BenchContext): Promise<ScenarioReport> {
    context.pattern.md5(context.sizeBytes); // computed once, outside the timings
    let runIndex = 0;
    const rows: RowDefinition[] = [
      {
        key: '(a)',
        label: 'plain node:http PUT → file (baseline)',
        run: () => plainRun(context, path.join(context.tempDir, `http-sink-${++runIndex}.bin`)),
      },
      {
        key: '(b)',
        label: 'Spool PUT /api/v1/uploads/bench.log',
        run: () => spoolRun(context, path.join(context.tempDir, `spool-http-upload-${++runIndex}`), true),
      },
      {
        key: '(c)',
        label: 'Spool PUT …/bench.log?checksum=none',
        run: () => spoolRun(context, path.join(context.tempDir, `spool-http-upload-${++runIndex}`), false),
      },
    ];
    const results = await measureRows(context, 'http-upload', rows);
    return {
      scenario: 'http-upload',
      title: 'HTTP upload (node:http client in the benchmark process, Content-Length, 1 MiB writes; each server in its own process)',
      sizeBytes: context.sizeBytes,
      baselineKey: '(a)',
      rows: results,
      targets: [
        rowRatioTarget('Spool PUT (b) ≥ 0.9× plain (a)', results, '(b)', '(a)', 0.9),
        rowRatioTarget('Spool PUT without checksum (c) ≥ 0.9× plain (a)', results, '(c)', '(a)', 0.9),
        rssTarget('Spool server peak RSS < 150 MB', [findRow(results, '(b)'), findRow(results, '(c)')], RSS_LIMIT_BYTES),
      ],
      notes: [
        'Spool stores text/plain with line access (.log): it indexes lines of every byte and, by default (b), hashes it (MD5 on a worker thread, ~420 MiB/s on one core here); (c) skips the MD5 (`?checksum=none`, or `httpUploadChecksum: none`); the plain server only writes.',
        'The answer comes once every byte is in the file (both); neither fsyncs.',
      ],
    };
  },
};
