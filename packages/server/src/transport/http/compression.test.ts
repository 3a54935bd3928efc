import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { constants, gunzipSync, inflateRawSync } from 'node:zlib';
import { expect } from 'chai';
import fc from 'fast-check';
import { acceptsGzip, HttpCompression, MIN_COMPRESSED_BODY_BYTES } from './compression.js';

describe('acceptsGzip (Accept-Encoding, RFC 9110 §12.5.3)', () => {
  it('takes gzip, x-gzip or *, with a non-zero weight; nothing else', () => {
    for (const yes of ['gzip', 'deflate, gzip;q=0.5', 'br, x-gzip', '*', 'identity, *;q=0.1', 'GZIP', ' gzip ; q=1'])
      expect(acceptsGzip(yes), yes).to.equal(true);
    for (const no of [undefined, '', 'identity', 'br', 'gzip;q=0', '*;q=0', 'gzip;q=0, *', 'gzip;q=x'])
      expect(acceptsGzip(no), String(no)).to.equal(false);
    expect(acceptsGzip(['br', 'gzip'])).to.equal(true);
  });

  it('never throws, whatever the header (fuzz)', () => {
    fc.assert(fc.property(fc.string(), (header) => typeof acceptsGzip(header) === 'boolean'));
    fc.assert(
      fc.property(fc.array(fc.constantFrom('gzip', 'br', 'identity', '*', 'q=0', 'q=0.5', ';', ',', ' ')), (parts) => {
        acceptsGzip(parts.join(''));
        return true;
      }),
    );
  });
});

describe('HttpCompression', () => {
  let server: Server;
  let url: string;
  let handler: (compression: HttpCompression, req: IncomingMessage, res: ServerResponse) => void;
  const compression = new HttpCompression({ level: 6, maxStreams: 1 });
  before(async () => {
    server = createServer((req, res) => handler(compression, req, res));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(() => server.close());

  /** A GET; resolves with headers and body chunks as they arrived (undecoded). */
  const get = (headers: Record<string, string> = {}) =>
    new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      request(url, { headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      })
        .on('error', reject)
        .end();
    });

  it('sends whole bodies gzipped when accepted and worth it, with Vary; small ones and refusers as they are', async () => {
    const big = 'x'.repeat(MIN_COMPRESSED_BODY_BYTES * 4);
    handler = (c, req, res) => void c.send(req, res, req.headers['x-small'] ? 'tiny' : big, 'text/plain');
    const zipped = await get({ 'Accept-Encoding': 'gzip' });
    expect(zipped.headers['content-encoding']).to.equal('gzip');
    expect(zipped.headers.vary).to.equal('Accept-Encoding');
    expect(gunzipSync(zipped.body).toString()).to.equal(big);
    const small = await get({ 'Accept-Encoding': 'gzip', 'x-small': '1' });
    expect([small.headers['content-encoding'], small.body.toString()]).to.deep.equal([undefined, 'tiny']);
    const plain = await get();
    expect([plain.headers['content-encoding'], plain.body.length]).to.deep.equal([undefined, big.length]);
  });

  it('flushes a streaming body per push (what came so far decodes), ends with trailers, and compresses at most maxStreams at once', async () => {
    let releaseFirst: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    handler = (c, req, res) => {
      res.setHeader('Trailer', 'X-End');
      const body = c.open(req, res);
      res.setHeader('X-Compressed', String(body.compressed));
      res.flushHeaders();
      body.target.write('first push\n');
      body.flush();
      const rest = req.headers['x-wait'] ? released : Promise.resolve();
      void rest.then(() => {
        body.target.write('second push\n');
        body.end({ 'X-End': 'done' });
      });
    };
    let received = Buffer.alloc(0);
    let firstPush: (text: string) => void = () => undefined;
    const firstPushDecoded = new Promise<string>((resolve) => {
      firstPush = resolve;
    });
    const first = new Promise<{ headers: Record<string, unknown>; trailers: Record<string, string> }>((resolve, reject) => {
      request(url, { headers: { 'Accept-Encoding': 'gzip', 'X-Wait': '1' }, agent: false }, (res) => {
        res.on('data', (chunk: Buffer) => {
          received = Buffer.concat([received, chunk]);
          // A sync flush ends the deflate data on a byte boundary: what came so far inflates (past gzip's 10-byte header).
          try {
            const text = inflateRawSync(received.subarray(10), { finishFlush: constants.Z_SYNC_FLUSH }).toString();
            if (text !== '') firstPush(text);
          } catch {
            // not a whole flush yet
          }
        });
        res.on('end', () => resolve({ headers: res.headers, trailers: res.trailers as Record<string, string> }));
      })
        .on('error', reject)
        .end();
    });
    expect(await firstPushDecoded).to.equal('first push\n');
    expect(compression.activeStreams).to.equal(1);
    // Another stream meanwhile goes out uncompressed: the bound holds.
    const second = await get({ 'Accept-Encoding': 'gzip' });
    expect([second.headers['content-encoding'], second.headers['x-compressed'], second.body.toString()]).to.deep.equal([
      undefined,
      'false',
      'first push\nsecond push\n',
    ]);
    releaseFirst();
    const { headers, trailers } = await first;
    expect([headers['content-encoding'], headers['x-compressed']]).to.deep.equal(['gzip', 'true']);
    expect(gunzipSync(received).toString()).to.equal('first push\nsecond push\n');
    expect(trailers['x-end']).to.equal('done');
    expect(compression.activeStreams).to.equal(0);
  });
});
