import http from 'node:http';
import path from 'node:path';
import { BlobStreamDecoder, blobUploadPreamble } from '@spool/common';
import { writeAll } from '../http-client.js';
import {
  type BenchContext,
  findRow,
  measureRows,
  median,
  type RowDefinition,
  type RowResult,
  type RunMeasurement,
  ratioTarget,
  rssTarget,
  type Scenario,
  type ScenarioReport,
  timeTransfer,
  verify,
} from '../scenario.js';
import { SpoolServerProcess } from '../spool-server.js';

const BLOBS = 10_000;
const BLOB_BYTES = 1024;
const TARGET_SPEEDUP = 20;
const RSS_LIMIT_BYTES = 150e6;
const USER = 'bench';
/** A run of 10,000 requests one after the other may take minutes on a busy machine. */
const RUN_TIMEOUT_MS = 10 * 60_000;

/** Blob `n`'s bytes: its number in every byte pair, so a misplaced blob cannot pass. */
function blobBytes(n: number): Buffer {
  const bytes = Buffer.alloc(BLOB_BYTES);
  for (let i = 0; i < BLOB_BYTES; i += 2) bytes.writeUInt16BE(n & 0xffff, i);
  return bytes;
}

const ids = Array.from({ length: BLOBS }, (_, n) => `blob-${n}`);
const contents = ids.map((_, n) => blobBytes(n));

interface Answer {
  status: number;
  body: Buffer;
}

/**
 * One request on `agent`; the whole answer. `body` may be written piece by piece (with
 * back-pressure). With `onChunk`, a 200 answer's body is handed over as it arrives (as a
 * streaming client decodes it, overlapping the server's work) instead of being collected.
 */
function exchange(
  url: string,
  method: string,
  agent: http.Agent,
  body?: Buffer | (() => Iterable<Buffer>),
  onChunk?: (chunk: Buffer) => void,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = Buffer.isBuffer(body) ? { 'Content-Length': String(body.length) } : undefined;
    const request = http.request(url, { method, agent, headers }, (response) => {
      const chunks: Buffer[] = [];
      const streamed = onChunk !== undefined && response.statusCode === 200;
      response.on('data', (chunk: Buffer) => {
        if (!streamed) chunks.push(chunk);
        else {
          try {
            onChunk(chunk);
          } catch (error) {
            response.destroy(error as Error);
          }
        }
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    request.on('error', reject);
    if (body === undefined || Buffer.isBuffer(body)) {
      request.end(body);
      return;
    }
    writeAll(request, body()[Symbol.iterator]());
  });
}

/** The upload stream's body, produced as it is sent: the first line, then the blobs in 64 KiB writes. */
function* uploadBody(): Iterable<Buffer> {
  yield blobUploadPreamble(ids.map((id) => [id, BLOB_BYTES]));
  for (let n = 0; n < BLOBS; n += 64) yield Buffer.concat(contents.slice(n, n + 64));
}

type Way = 'per-blob' | 'stream';

async function upload(base: string, way: Way): Promise<string[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    if (way === 'stream') {
      const answer = await exchange(`${base}/stream/${USER}/?direction=upload`, 'POST', agent, uploadBody);
      verify(answer.status === 200, `stream upload answered ${answer.status}: ${answer.body.toString().slice(0, 300)}`);
      verify(JSON.parse(answer.body.toString()).stored === BLOBS, `stream upload: ${answer.body.toString()}`);
    } else {
      for (const [n, id] of ids.entries()) {
        const answer = await exchange(`${base}/blobs/${USER}/${id}`, 'PUT', agent, contents[n]);
        verify(answer.status === 200, `PUT ${id} answered ${answer.status}: ${answer.body.toString().slice(0, 300)}`);
      }
    }
    return ['status of every request'];
  } finally {
    agent.destroy();
  }
}

async function download(base: string, way: Way): Promise<string[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    if (way === 'per-blob') {
      for (const [n, id] of ids.entries()) {
        const answer = await exchange(`${base}/blobs/${USER}/${id}`, 'GET', agent);
        verify(answer.status === 200 && answer.body.equals(contents[n] as Buffer), `GET ${id}: ${answer.status}, wrong bytes?`);
      }
      return ['every blob'];
    }
    // Decoded and checked as it arrives, as the SDK's pullMany does; the views stay valid
    // because every socket chunk is a buffer of its own.
    const decoder = new BlobStreamDecoder();
    let n = 0;
    let parts: Uint8Array[] = [];
    const decode = (chunk: Buffer): void => {
      for (const event of decoder.push(chunk)) {
        if (event.type === 'data') parts.push(event.bytes);
        else if (event.type === 'end') {
          const blob = parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts);
          verify(Buffer.compare(blob, contents[n] as Buffer) === 0, `stream download: blob ${n} has the wrong bytes`);
          parts = [];
          n++;
        }
      }
    };
    const answer = await exchange(`${base}/stream/${USER}/?direction=download`, 'POST', agent, Buffer.from(JSON.stringify(ids)), decode);
    verify(answer.status === 200, `stream download answered ${answer.status}: ${answer.body.toString().slice(0, 300)}`);
    decoder.end();
    verify(n === BLOBS, `stream download: ${n} of ${BLOBS} blobs`);
    return ['every blob', 'format'];
  } finally {
    agent.destroy();
  }
}

/** The blobs to download: uploaded once (by stream) into a data directory every download run starts a server on. */
async function seeded(context: BenchContext): Promise<string> {
  const dataDir = path.join(context.tempDir, 'blob-sync-seeded');
  const server = await SpoolServerProcess.start({ dataDir });
  try {
    context.log(`seeding ${BLOBS} blobs of ${BLOB_BYTES} bytes`);
    await upload(`${server.httpUrl}/blob-sync`, 'stream');
  } finally {
    await server.stop();
  }
  return dataDir;
}

async function measured(context: BenchContext, dataDir: string, run: (base: string) => Promise<string[]>): Promise<RunMeasurement> {
  const server = await SpoolServerProcess.start({ dataDir, profileDir: context.profileDir });
  try {
    const timed = await timeTransfer(server.process, () => run(`${server.httpUrl}/blob-sync`));
    const memory = await server.stop();
    return { bytes: BLOBS * BLOB_BYTES, seconds: timed.seconds, cpu: timed.cpu, server: memory, checks: timed.result };
  } finally {
    await server.stop();
  }
}

const blobsPerSecond = (row: RowResult) => median(row.runs.map((run) => BLOBS / run.seconds));

export const blobSyncScenario: Scenario = {
  name: 'blob-sync',
  description: `${BLOBS} blobs of ${BLOB_BYTES} B each way: one request per blob (keep-alive) vs one blob-sync stream`,
  async run(context: BenchContext): Promise<ScenarioReport> {
    const seededDir = await seeded(context);
    let runIndex = 0;
    const fresh = () => path.join(context.tempDir, `blob-sync-upload-${++runIndex}`);
    const rows: RowDefinition[] = [
      {
        key: '(a)',
        label: 'upload: one PUT …/blobs/{user}/{id} per blob (baseline)',
        run: () => measured(context, fresh(), (b) => upload(b, 'per-blob')),
      },
      {
        key: '(b)',
        label: 'upload: one POST …/stream/{user}/?direction=upload',
        baselineKey: '(a)',
        run: () => measured(context, fresh(), (b) => upload(b, 'stream')),
      },
      {
        key: '(c)',
        label: 'download: one GET …/blobs/{user}/{id} per blob (baseline)',
        baselineKey: '(c)',
        run: () => measured(context, seededDir, (b) => download(b, 'per-blob')),
      },
      {
        key: '(d)',
        label: 'download: one POST …/stream/{user}/?direction=download',
        baselineKey: '(c)',
        run: () => measured(context, seededDir, (b) => download(b, 'stream')),
      },
    ];
    const results = await measureRows(context, 'blob-sync', rows, RUN_TIMEOUT_MS);
    const rate = (key: string) => blobsPerSecond(findRow(results, key));
    return {
      scenario: 'blob-sync',
      title: `Blob sync: ${BLOBS} blobs of ${BLOB_BYTES} B, one request per blob vs one stream (node:http client, one keep-alive connection, server in its own process)`,
      sizeBytes: BLOBS * BLOB_BYTES,
      baselineKey: '(a)',
      items: { perRun: BLOBS, unit: 'blobs' },
      rows: results,
      targets: [
        ratioTarget(`stream upload (b) ≥ ${TARGET_SPEEDUP}× one PUT per blob (a)`, rate('(b)'), rate('(a)'), TARGET_SPEEDUP),
        ratioTarget(`stream download (d) ≥ ${TARGET_SPEEDUP}× one GET per blob (c)`, rate('(d)'), rate('(c)'), TARGET_SPEEDUP),
        rssTarget('Spool server peak RSS < 150 MB, streams (b, d)', [findRow(results, '(b)'), findRow(results, '(d)')], RSS_LIMIT_BYTES),
      ],
      notes: [
        "Requests go one after the other on one keep-alive connection, as a sync client without concurrency sends them; every answer is checked (status, every blob's bytes); the stream download is decoded and checked as it arrives, as the SDK's pullMany reads it.",
        'Upload runs start a server on an empty data directory; download runs on one seeded once (warm page cache). Default settings: log level info, no quota, access control off.',
        'Every blob is a core resource both ways (a catalog row, COMPLETED status published). A PUT streams its blob into a file through an upload session (followable while it arrives); a stream upload stores its 1 KiB blobs in batches of up to 512, bytes in their catalog rows (inlineMaxBytes), and a stream download reads them back 128 at a time (a GET reads the same catalog bytes, one blob each): the stream saves the HTTP round trip and request handling of each blob, and the file and transactions of each.',
      ],
    };
  },
};
