import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { buildLogLines, writeBuildLog } from '../build-log.js';
import { ServerProcess } from '../process.js';
import {
  type BenchContext,
  findRow,
  measureRows,
  median,
  type RowDefinition,
  type RunMeasurement,
  rssTarget,
  type Scenario,
  type ScenarioReport,
  type TargetCheck,
  timeTransfer,
  verify,
} from '../scenario.js';
import { SpoolServerProcess } from '../spool-server.js';

const peersDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'peers');
/** gzip works a core per stream: 256 MiB is plenty to measure its cost and ratio. */
const MAX_LOG_BYTES = 256 * 1024 * 1024;
const WIRE_SAVING_TARGET = 5;
const RSS_LIMIT_BYTES = 150e6;
/** Spool's default `httpCompressionLevel`; the plain peer compresses at the same level. */
const LEVEL = 3;
/** The live follow: this much log, written in pieces this size, a piece every `LIVE_PIECE_EVERY_MS`. */
const LIVE_BYTES = 2 * 1024 * 1024;
const LIVE_PIECE_BYTES = 2 * 1024;
const LIVE_PIECE_EVERY_MS = 10;

interface Fetched {
  /** Bytes on the wire (the body as sent, compressed or not). */
  wireBytes: number;
  /** Bytes once decoded. */
  contentBytes: number;
  sha256: string;
  encoding: string | undefined;
}

/** GETs `url`, counting the body's bytes as sent and hashing them decoded. */
function fetchCounted(url: string, gzip: boolean): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: gzip ? { 'Accept-Encoding': 'gzip' } : {} }, (response) => {
      verify(response.statusCode === 200, `GET ${url}: HTTP ${response.statusCode}`);
      const encoding = response.headers['content-encoding'];
      let wireBytes = 0;
      let contentBytes = 0;
      const hash = createHash('sha256');
      response.on('data', (chunk: Buffer) => {
        wireBytes += chunk.length;
      });
      const decoded = encoding === 'gzip' ? response.pipe(createGunzip()) : response;
      decoded.on('data', (chunk: Buffer) => {
        contentBytes += chunk.length;
        hash.update(chunk);
      });
      decoded.on('end', () => resolve({ wireBytes, contentBytes, sha256: hash.digest('hex'), encoding }));
      decoded.on('error', reject);
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** PUTs `file` to Spool as a COMPLETED text resource (one shot, no MD5) and returns its id. */
function putFile(url: string, file: string, size: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'PUT', headers: { 'Content-Length': String(size) } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (text: string) => {
        body += text;
      });
      response.on('end', () => {
        const json = JSON.parse(body) as { id: string; size: number; mimeType: string; state: string };
        verify(response.statusCode === 201 && json.size === size && json.state === 'COMPLETED', `seeding: ${response.statusCode} ${body}`);
        resolve(json.id);
      });
    });
    request.on('error', reject);
    createReadStream(file).pipe(request);
  });
}

/** One measured GET: wall time, CPU of both processes, and the wire ratio in the checks. */
async function measuredFetch(server: ServerProcess, url: string, gzip: boolean, expected: { size: number; sha256: string }) {
  const timed = await timeTransfer(server, () => fetchCounted(url, gzip));
  const fetched = timed.result;
  verify(fetched.contentBytes === expected.size && fetched.sha256 === expected.sha256, `GET ${url}: decoded content differs`);
  verify((fetched.encoding === 'gzip') === gzip, `GET ${url}: Content-Encoding ${fetched.encoding}, gzip asked: ${gzip}`);
  return { timed, fetched };
}

function wireCheck(fetched: Fetched): string {
  return `SHA-256; wire ${(fetched.contentBytes / fetched.wireBytes).toFixed(2)}× smaller`;
}

/**
 * A follower in gzip follow mode of an upload written as a build writes: small pieces,
 * so every checkpoint pushes a little and the compressor is flushed each time (what keeps
 * live latency). Returns its wire and content bytes.
 */
async function liveFollow(spoolUrl: string): Promise<Fetched> {
  const name = `bench/live-${Date.now()}.log`;
  const log: Buffer[] = [];
  let size = 0;
  for (const line of buildLogLines(7)) {
    const bytes = Buffer.from(`${line}\n`);
    log.push(bytes);
    size += bytes.length;
    if (size >= LIVE_BYTES) break;
  }
  const content = Buffer.concat(log);
  const upload = http.request(`${spoolUrl}/api/v1/names/${name}`, { method: 'PUT' });
  const uploaded = new Promise<void>((resolve, reject) => {
    upload.on('response', (response) => {
      response.resume();
      response.on('end', () => resolve());
    });
    upload.on('error', reject);
  });
  upload.flushHeaders();
  // The resource exists once the request is in: follow it from the start.
  for (let tries = 0; ; tries++) {
    const probe = await new Promise<number>((resolve) =>
      http.get(`${spoolUrl}/api/v1/names/${name}`, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      }),
    );
    if (probe === 200) break;
    verify(tries < 200, 'live follow: the named upload never appeared');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const following = fetchCounted(`${spoolUrl}/api/v1/names/${name}?follow=1`, true);
  for (let at = 0; at < content.length; at += LIVE_PIECE_BYTES) {
    upload.write(content.subarray(at, at + LIVE_PIECE_BYTES));
    await new Promise((resolve) => setTimeout(resolve, LIVE_PIECE_EVERY_MS));
  }
  upload.end();
  await uploaded;
  const fetched = await following;
  verify(fetched.sha256 === createHash('sha256').update(content).digest('hex'), 'live follow: the followed bytes differ');
  return fetched;
}

export const httpCompressionScenario: Scenario = {
  name: 'http-compression',
  description: 'gzip of a real-looking build log over HTTP: wire saving and CPU, Spool vs plain node:http + zlib; a live gzip follower',
  async run(context: BenchContext): Promise<ScenarioReport> {
    const sizeBytes = Math.min(context.sizeBytes, MAX_LOG_BYTES);
    const file = path.join(context.tempDir, 'build.log');
    context.log(`http-compression: writing a ${sizeBytes}-byte build log`);
    await writeBuildLog(file, sizeBytes);
    verify((await stat(file)).size === sizeBytes, 'build log size');
    const expected = { size: sizeBytes, sha256: await sha256OfFile(file) };
    const dataDir = path.join(context.tempDir, 'spool-compression');
    const seeding = await SpoolServerProcess.start({ dataDir });
    let resourceId: string;
    try {
      resourceId = await putFile(`${seeding.httpUrl}/api/v1/uploads/build.log?checksum=none`, file, sizeBytes);
    } finally {
      await seeding.stop();
    }
    const wire = new Map<string, number[]>();
    const spoolRow = (key: string, label: string, gzip: boolean): RowDefinition => ({
      key,
      label,
      async run(): Promise<RunMeasurement> {
        const server = await SpoolServerProcess.start({ dataDir, profileDir: context.profileDir });
        try {
          const url = `${server.httpUrl}/api/v1/resources/${resourceId}/content?start=0`;
          const { timed, fetched } = await measuredFetch(server.process, url, gzip, expected);
          wire.set(key, [...(wire.get(key) ?? []), fetched.wireBytes]);
          const memory = await server.stop();
          return { bytes: sizeBytes, seconds: timed.seconds, cpu: timed.cpu, server: memory, checks: [wireCheck(fetched)] };
        } finally {
          await server.stop();
        }
      },
    });
    const rows: RowDefinition[] = [
      spoolRow('(a)', 'Spool GET …/content?start=0, identity (curl) — baseline', false),
      spoolRow('(b)', 'Spool GET …/content?start=0, Accept-Encoding: gzip (curl --compressed)', true),
      {
        key: '(c)',
        label: `plain node:http, file | zlib.createGzip (level ${LEVEL}): the gzip floor`,
        async run(): Promise<RunMeasurement> {
          const peer = await ServerProcess.start({
            name: 'http-gzip-file-server',
            script: path.join(peersDir, 'http-gzip-file-server.js'),
            args: [file, String(LEVEL)],
          });
          try {
            const { timed, fetched } = await measuredFetch(peer, `${peer.url}/`, true, expected);
            wire.set('(c)', [...(wire.get('(c)') ?? []), fetched.wireBytes]);
            const memory = await peer.stop();
            return { bytes: sizeBytes, seconds: timed.seconds, cpu: timed.cpu, server: memory, checks: [wireCheck(fetched)] };
          } finally {
            await peer.stop();
          }
        },
      },
    ];
    const results = await measureRows(context, 'http-compression', rows);

    context.log('http-compression: a live gzip follower');
    const live = await SpoolServerProcess.start({
      dataDir: path.join(context.tempDir, 'spool-compression-live'),
      profileDir: context.profileDir,
    });
    let followed: Fetched;
    try {
      followed = await liveFollow(live.httpUrl);
    } finally {
      await live.stop();
    }
    const saving = (key: string) => sizeBytes / median(wire.get(key) ?? [Number.NaN]);
    const liveSaving = followed.contentBytes / followed.wireBytes;
    const cpu = (key: string) => median(findRow(results, key).runs.map((run) => run.cpu.serverSeconds / (run.bytes / 2 ** 30)));
    const targets: TargetCheck[] = [
      {
        description: `wire ≥ ${WIRE_SAVING_TARGET}× smaller with gzip ((b), a build log)`,
        actual: `${saving('(b)').toFixed(2)}× (${(median(wire.get('(b)') ?? []) / 2 ** 20).toFixed(1)} MiB for ${(sizeBytes / 2 ** 20).toFixed(0)} MiB)`,
        pass: saving('(b)') >= WIRE_SAVING_TARGET,
      },
      {
        description: `a live follower flushed per push stays ≥ ${WIRE_SAVING_TARGET}× smaller`,
        actual: `${liveSaving.toFixed(2)}× (${followed.contentBytes} bytes in ${followed.wireBytes})`,
        pass: liveSaving >= WIRE_SAVING_TARGET,
      },
      rssTarget('Spool server peak RSS < 150 MB ((a), (b))', [findRow(results, '(a)'), findRow(results, '(b)')], RSS_LIMIT_BYTES),
    ];
    return {
      scenario: 'http-compression',
      title: `gzip of a ${(sizeBytes / 2 ** 20).toFixed(0)} MiB build log (progressive text, one GET)`,
      sizeBytes,
      baselineKey: '(a)',
      rows: results,
      targets,
      notes: [
        `Server CPU per GiB of log: identity ${cpu('(a)').toFixed(2)} s, Spool gzip ${cpu('(b)').toFixed(2)} s, plain zlib ${cpu('(c)').toFixed(2)} s: gzip costs Spool ${(cpu('(b)') - cpu('(a)')).toFixed(2)} CPU-s per GiB served compressed (level ${LEVEL}, the default httpCompressionLevel).`,
        'MiB/s counts the log (decoded) bytes; the client decodes and SHA-256-checks every byte of every row.',
        `Live follower: ${LIVE_BYTES / 2 ** 20} MiB written as ${LIVE_PIECE_BYTES / 1024} KiB pieces every ${LIVE_PIECE_EVERY_MS} ms (≈${((LIVE_PIECE_BYTES / LIVE_PIECE_EVERY_MS) * 100) / 1024} KiB per 100 ms checkpoint; PUT to /api/v1/names/…), followed from the start with ?follow=1 and Accept-Encoding: gzip; each push is flushed (Z_SYNC_FLUSH), so the ratio pays for liveness.`,
        'The build log is generated (seeded): timestamps, levels, module and class names, compiler warnings, dependency downloads, test results with durations, ANSI colours and some hex digests.',
      ],
    };
  },
};
