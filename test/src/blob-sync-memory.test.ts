/**
 * Bounded memory of the blob stream, measured on the server as users run it (its own
 * process): a slow reader of a 10,000-blob download (164 MB) leaves the server's RSS flat —
 * it reads from storage only as fast as the client takes the bytes. The stream is twice
 * the bound checked, so a server holding it fails by far, while garbage not collected yet
 * (tens of MB of read buffers, more on some Node versions) stays well within the bound.
 */
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { BlobStreamDecoder } from '@spool/common';
import { expect } from 'chai';
import { type CliServer, freePort, MEASURED_LAUNCH, rssOf, startCli } from './helpers/cli-process.js';
import { request } from './helpers/http-client.js';
import { freshDataDir } from './helpers/server.js';

const BLOBS = 10_000;
const BLOB_BYTES = 16 * 1024;
/** RSS the download may add: less than half the stream. */
const RSS_GROWTH_LIMIT = 70e6;
/** Byte `i` is `i & 0xff`: blob `n` is the slice starting at `n & 0xff`. */
const PATTERN = Buffer.from(Array.from({ length: BLOB_BYTES + 256 }, (_, i) => i & 0xff));

/** The upload body, generated as it is sent: the first line, then every blob (byte `i` of blob `n` is `n + i`). */
function uploadBody(): Readable {
  const ids = Array.from({ length: BLOBS }, (_, n) => `m${n}`);
  return Readable.from(
    (function* () {
      yield Buffer.from(`${JSON.stringify(ids.map((id) => [id, BLOB_BYTES]))}\n`);
      for (let n = 0; n < BLOBS; n++) yield PATTERN.subarray(n & 0xff, (n & 0xff) + BLOB_BYTES);
    })(),
  );
}

describe('Blob sync: memory of a slow reader', function () {
  this.timeout(300_000);
  let cli: CliServer;
  before(async function () {
    if (process.platform !== 'linux') this.skip();
    const port = await freePort();
    cli = await startCli({ SPOOL_PORT: String(port), SPOOL_DATA_DIR: freshDataDir() }, undefined, MEASURED_LAUNCH);
  });
  after(() => cli?.child.kill('SIGTERM'));

  it('keeps the server RSS flat while a slow reader takes a 10,000-blob download', async () => {
    const base = `${cli.url}/blob-sync`;
    const up = await request(`${base}/stream/mem/?direction=upload`, { method: 'POST', body: uploadBody(), timeoutMs: 240_000 });
    expect(up.status, up.text()).to.equal(200);
    expect(up.json()).to.deep.equal({ stored: BLOBS });

    const pid = cli.child.pid as number;
    await new Promise((resolve) => setTimeout(resolve, 500));
    const baseline = rssOf(pid);
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssOf(pid));
    }, 50);
    const ids = Array.from({ length: BLOBS }, (_, n) => `m${n}`);
    const outcome = await new Promise<{ bytes: number; blobs: number; intact: boolean }>((resolve, reject) => {
      const req = httpRequest(`${base}/stream/mem/?direction=download`, { method: 'POST' }, (res) => {
        const decoder = new BlobStreamDecoder();
        let bytes = 0;
        let blobs = 0;
        let intact = res.statusCode === 200;
        let sinceBreak = 0;
        let offset = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          for (const event of decoder.push(chunk)) {
            if (event.type === 'start') {
              intact &&= event.size === BLOB_BYTES;
              offset = 0;
            } else if (event.type === 'data') {
              for (let i = 0; i < event.bytes.length; i++) intact &&= event.bytes[i] === ((blobs + offset + i) & 0xff);
              offset += event.bytes.length;
            } else blobs++;
          }
          // A slow reader: it stops for 4 s after the first chunk (a server that does not wait
          // for it would read ahead into memory meanwhile), then pauses after every 256 KiB.
          sinceBreak += chunk.length;
          if (bytes === chunk.length || sinceBreak >= 256 * 1024) {
            sinceBreak = 0;
            res.pause();
            setTimeout(() => res.resume(), bytes === chunk.length ? 4_000 : 10);
          }
        });
        res.on('end', () => {
          decoder.end();
          resolve({ bytes, blobs, intact });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(JSON.stringify(ids));
    });
    clearInterval(sampler);
    expect(outcome.blobs).to.equal(BLOBS);
    expect(outcome.intact).to.equal(true);
    expect(outcome.bytes).to.equal(BLOBS * (BLOB_BYTES + 33));
    // 164 MB went through; the server held a read-ahead window of about 1 MiB, not the stream.
    expect(peak - baseline, `RSS ${(baseline / 1e6).toFixed(0)} → peak ${(peak / 1e6).toFixed(0)} MB`).to.be.below(RSS_GROWTH_LIMIT);
  });
});
