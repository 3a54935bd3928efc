/**
 * Bounded memory of a pipe, measured on the server as users run it (its own process): a
 * 256 MB transfer to a deliberately slow receiver leaves the server's RSS flat — the
 * sender is held back to the receiver's pace instead of being read ahead into memory.
 */
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { type CliServer, freePort, MEASURED_LAUNCH, rssOf, startCli } from './helpers/cli-process.js';
import { freshDataDir } from './helpers/server.js';

const TOTAL = 256 * 1024 * 1024;
const CHUNK = 64 * 1024;

/** Byte `i` of the transfer is `i % 251`: checkable without keeping it. */
function body(): Readable {
  return Readable.from(
    (function* () {
      for (let offset = 0; offset < TOTAL; offset += CHUNK) {
        const chunk = Buffer.allocUnsafe(CHUNK);
        for (let i = 0; i < CHUNK; i++) chunk[i] = (offset + i) % 251;
        yield chunk;
      }
    })(),
  );
}

describe('Pipe: memory with a slow receiver', function () {
  this.timeout(300_000);
  let cli: CliServer;
  before(async function () {
    if (process.platform !== 'linux') this.skip();
    cli = await startCli({ SPOOL_PORT: String(await freePort()), SPOOL_DATA_DIR: freshDataDir() }, undefined, MEASURED_LAUNCH);
  });
  after(() => cli?.child.kill('SIGTERM'));

  it('keeps the server RSS flat while a slow receiver takes 256 MB', async () => {
    const url = `${cli.url}/pipe/memory/big.bin`;
    const pid = cli.child.pid as number;
    await new Promise((resolve) => setTimeout(resolve, 300));
    const baseline = rssOf(pid);
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssOf(pid));
    }, 50);
    const received = new Promise<{ bytes: number; intact: boolean; complete: boolean }>((resolve, reject) => {
      const req = httpRequest(url, { agent: false }, (res) => {
        let bytes = 0;
        let intact = res.statusCode === 200;
        let sincePause = 0;
        let first = true;
        res.on('data', (chunk: Buffer) => {
          for (let i = 0; i < chunk.length; i += 4093) intact &&= chunk[i] === (bytes + i) % 251;
          bytes += chunk.length;
          sincePause += chunk.length;
          // Slow: it stops for 3 s after the first chunk (a server that did not wait for it
          // would read the sender ahead into memory meanwhile), then pauses every 1 MiB.
          if (first || sincePause >= 1024 * 1024) {
            res.pause();
            setTimeout(() => res.resume(), first ? 3_000 : 5);
            first = false;
            sincePause = 0;
          }
        });
        res.on('end', () => resolve({ bytes, intact, complete: true }));
        res.on('aborted', () => resolve({ bytes, intact, complete: false }));
      });
      req.on('error', reject);
      req.end();
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const sent = new Promise<string>((resolve, reject) => {
      const req = httpRequest(url, { method: 'PUT', agent: false, headers: { 'Content-Length': TOTAL } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      body().pipe(req);
    });
    const [got, progress] = await Promise.all([received, sent]);
    clearInterval(sampler);
    expect(got).to.deep.equal({ bytes: TOTAL, intact: true, complete: true });
    expect(progress).to.include('[INFO] Sent successfully!');
    const growth = peak - baseline;
    console.log(`      RSS ${(baseline / 1048576).toFixed(1)} MiB → peak ${(peak / 1048576).toFixed(1)} MiB`);
    // A server reading ahead would hold the whole 256 MB during the receiver's first pause; the
    // pipe holds a few chunks. The rest of the growth is garbage not yet collected: Node
    // collects body buffers in bulk, ≈64 MiB at a time, and glibc keeps freed heap
    // (malloc-tuning.ts) — hence a bound well above that, and far below the transfer.
    expect(growth, `RSS grew by ${(growth / 1048576).toFixed(1)} MiB`).to.be.below(110 * 1024 * 1024);
  });
});
