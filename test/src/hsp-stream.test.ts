/**
 * HSP stream requests end to end: the sheet's four steps, partial acceptance, refusal,
 * a connection cut mid-stream and resumed by key (raw, and with the SDK through a proxy
 * that cuts at random), a stream taken over from a connection that never noticed its
 * loss, and a WebSocket follower seeing an HSP upload live.
 */
import { createHash } from 'node:crypto';
import { encodePacket } from '@spool/common';
import { HspClient } from '@spool/impl-hsp';
import { createDownloadClient, type SpoolRemoteResource } from '@spool/impl-websocket';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { CuttingProxy } from './helpers/cutting-proxy.js';
import { digestStream, GeneratedSource, MIB } from './helpers/generated-source.js';
import { RawHspSocket } from './helpers/hsp-raw-client.js';
import { request } from './helpers/http-client.js';
import { startTestServer } from './helpers/server.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Deterministic bytes: a pattern nobody could confuse with a shifted copy of itself. */
function bytesOf(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('HSP stream requests', function () {
  this.timeout(60_000);
  let server: SpoolServer;
  let port: number;
  before(async () => {
    server = await startTestServer({ maxResourceBytes: 64 * MIB });
    port = server.host.tcpPorts.hsp as number;
  });
  after(() => server.close());

  it('runs the sheet’s four steps: request, accept with key, raw bytes, final packet naming the resource', async () => {
    const client = await RawHspSocket.open(port);
    const data = bytesOf(20_000);
    const step2 = await client.request({ route: '/upload', 'data-format': 'bytes', 'x-stream': '20000:4096', 'x-filename': 'seed.bin' });
    const key = step2.headers['x-stream-key'] as string;
    expect(step2.headers).to.deep.equal({
      'data-format': 'bytes',
      status: '1',
      'x-stream': '0:4096',
      'x-stream-key': key,
      'x-stream-offset': '0',
      'x-resource': `${server.url}/api/v1/resources/${key}/content`,
    });
    expect(step2.payload.length).to.equal(0);
    for (let at = 0; at < data.length; at += 4096) await client.write(data.subarray(at, at + 4096));
    const final = await client.answer(1);
    expect(final?.headers).to.deep.equal({
      'data-format': 'bytes',
      status: '0',
      'x-stream': '0:0',
      'x-stream-key': key,
      'x-resource': step2.headers['x-resource'],
      'x-size': '20000',
    });
    const stored = await request(step2.headers['x-resource'] as string);
    expect(sha256(stored.body)).to.equal(sha256(data));
    expect((await server.core.getStatus(key)).state).to.equal('COMPLETED');
    // The connection goes on: the next packet right after the stream's last byte.
    expect((await client.request({ route: '/ping' }, 'after')).payload.toString()).to.equal('pong:after');
    client.destroy();
  });

  it('takes bytes sent in the same write as the request and as the next packet (pipelined)', async () => {
    const client = await RawHspSocket.open(port);
    await client.write(
      Buffer.concat([
        encodePacket({ route: '/upload', 'data-format': 'text:utf-8', 'x-stream': '6:1' }),
        Buffer.from('abc\nde'),
        encodePacket({ route: '/ping' }, 'next'),
      ]),
    );
    const step2 = await client.answer(0);
    expect(step2?.headers['x-stream']).to.equal('0:1');
    expect((await client.answer(1))?.status).to.equal(0);
    expect((await client.answer(2))?.payload.toString()).to.equal('pong:next');
    const id = step2?.headers['x-stream-key'] as string;
    expect(await server.core.getStatus(id)).to.include({ state: 'COMPLETED', size: 6, lines: 2 });
    client.destroy();
  });

  it('accepts part of a stream over maxResourceBytes (x-stream: n), then reports what is missing; the resource is FAILED, its bytes kept', async () => {
    const client = await RawHspSocket.open(port);
    const total = 64 * MIB + 1000;
    const step2 = await client.request({ route: '/upload', 'data-format': 'bytes', 'x-stream': `${total}:65536` });
    expect(step2.headers['x-stream']).to.equal(`${64 * MIB}:65536`);
    const chunk = Buffer.alloc(MIB, 3);
    for (let i = 0; i < 64; i++) await client.write(chunk);
    const final = await client.answer(1);
    expect(final?.status).to.equal(130);
    expect(final?.headers).to.deep.include({ 'x-stream': '1000:0', 'x-error': 'QUOTA_EXCEEDED' });
    expect(final?.payload.toString()).to.match(
      /at most 67108864 bytes per resource \(maxResourceBytes\): 1000 bytes of the stream were refused/,
    );
    const status = await server.core.getStatus(step2.headers['x-stream-key'] as string);
    expect(status).to.include({ state: 'FAILED', size: 64 * MIB });
    expect((await client.request({ route: '/ping' })).status).to.equal(0);
    client.destroy();
  });

  it('refuses a stream it cannot take with x-stream: -1 and no key: malformed x-stream, unknown key, a payload', async () => {
    const client = await RawHspSocket.open(port);
    const bad = await client.request({ route: '/upload', 'x-stream': '12' });
    expect(bad.status).to.equal(129);
    expect(bad.headers['x-stream']).to.equal('-1:0');
    expect(bad.payload.toString()).to.match(/x-stream "12"/);
    const unknown = await client.request({ route: '/upload', 'x-stream': '10:10', 'x-stream-key': 'no-such-stream' });
    expect(unknown.status).to.equal(69);
    expect(unknown.headers).to.deep.include({ 'x-stream': '-1:0', 'x-error': 'RESOURCE_NOT_FOUND' });
    expect(unknown.headers['x-stream-key']).to.equal(undefined);
    const payload = await client.request({ route: '/upload', 'x-stream': '10:10' }, 'oops');
    expect(payload.status).to.equal(129);
    expect(payload.payload.toString()).to.match(/empty payload/);
    client.destroy();
  });

  it('resumes a stream cut mid-way by key from the durable offset: the stored bytes equal the source exactly', async () => {
    const data = bytesOf(3 * MIB, 7);
    const first = await RawHspSocket.open(port);
    const step2 = await first.request({ route: '/upload', 'data-format': 'bytes', 'x-stream': `${data.length}:65536` });
    const key = step2.headers['x-stream-key'] as string;
    await first.write(data.subarray(0, MIB + 12345));
    await until(async () => (await server.core.getStatus(key)).size === MIB + 12345);
    first.destroy();
    // The server notices the cut and releases the writer: IN_PROGRESS, resumable.
    await until(() => server.core.activeUpload(key) === undefined);
    expect((await server.core.getStatus(key)).state).to.equal('IN_PROGRESS');

    const second = await RawHspSocket.open(port);
    const resumed = await second.request({
      route: '/upload',
      'data-format': 'bytes',
      'x-stream': `${data.length}:65536`,
      'x-stream-key': key,
    });
    expect(resumed.headers).to.deep.include({
      status: '1',
      'x-stream': '0:65536',
      'x-stream-key': key,
      'x-stream-offset': String(MIB + 12345),
    });
    const offset = Number(resumed.headers['x-stream-offset']);
    await second.write(data.subarray(offset));
    const final = await second.answer(1);
    expect(final?.headers).to.deep.include({ status: '0', 'x-stream': '0:0', 'x-size': String(data.length) });
    const stored = await request(`${server.url}/api/v1/resources/${key}/content`);
    expect(sha256(stored.body)).to.equal(sha256(data));
    // Resuming a completed stream: 69, as the sheet says.
    const again = await second.request({ route: '/upload', 'x-stream': `${data.length}:65536`, 'x-stream-key': key });
    expect(again.status).to.equal(69);
    second.destroy();
  });

  it('takes a stream over from a connection that never noticed it was lost: the old one is told 131, the new one goes on', async () => {
    const data = bytesOf(MIB, 9);
    const stale = await RawHspSocket.open(port);
    const step2 = await stale.request({ route: '/upload', 'x-stream': `${data.length}:65536` });
    const key = step2.headers['x-stream-key'] as string;
    await stale.write(data.subarray(0, 1000));
    await until(async () => (await server.core.getStatus(key)).size === 1000);
    const fresh = await RawHspSocket.open(port);
    const resumed = await fresh.request({ route: '/upload', 'x-stream': `${data.length}:65536`, 'x-stream-key': key });
    expect(resumed.headers['x-stream-offset']).to.equal('1000');
    const told = await stale.answer(1);
    expect(told?.status).to.equal(131);
    expect(told?.payload.toString()).to.equal('Another connection resumed this stream');
    await fresh.write(data.subarray(1000));
    expect((await fresh.answer(1))?.status).to.equal(0);
    expect(sha256((await request(`${server.url}/api/v1/resources/${key}/content`)).body)).to.equal(sha256(data));
    fresh.destroy();
    stale.destroy();
  });

  it('a WebSocket follower sees an HSP upload live, while its bytes arrive', async () => {
    const data = bytesOf(2 * MIB, 11);
    const client = await RawHspSocket.open(port);
    const step2 = await client.request({ route: '/upload', 'x-stream': `${data.length}:65536` });
    const key = step2.headers['x-stream-key'] as string;
    const follower = (await createDownloadClient().open(`${server.wsUrl}/ws/spool/v1/resources/${key}`)) as SpoolRemoteResource;
    let followed = 0;
    const chunks: Buffer[] = [];
    const following = (async () => {
      for await (const chunk of follower.follow()) {
        chunks.push(chunk as Buffer);
        followed += (chunk as Buffer).length;
      }
    })();
    await client.write(data.subarray(0, MIB));
    // The first half reaches the follower before the second half is even sent.
    await until(() => followed === MIB);
    expect((await server.core.getStatus(key)).state).to.equal('IN_PROGRESS');
    await client.write(data.subarray(MIB));
    expect((await client.answer(1))?.status).to.equal(0);
    await following;
    expect(sha256(Buffer.concat(chunks))).to.equal(sha256(data));
    await follower.close();
    client.destroy();
  });

  it('SDK: uploads through a proxy that cuts connections at random, resuming by key; byte-exact, a live follower too', async () => {
    const proxy = await CuttingProxy.start({ targetPort: port, seed: 4242, maxCuts: 4, minBytes: 2 * MIB, maxBytes: 12 * MIB });
    try {
      const size = 48 * MIB;
      const source = new GeneratedSource(size, 99);
      const hsp = new HspClient({ port: proxy.port });
      let following: Promise<{ sha256: string; size: number }> | undefined;
      let follower: SpoolRemoteResource | undefined;
      const result = await hsp.upload(source, {
        size,
        filename: 'cut.bin',
        bufsize: 256 * 1024,
        reconnect: { initialDelayMs: 20, maxDelayMs: 200, maxAttempts: 20 },
        onReady: (ready) => {
          following = createDownloadClient()
            .open(`${server.wsUrl}/ws/spool/v1/resources/${ready.key}`)
            .then((resource) => {
              follower = resource as SpoolRemoteResource;
              return digestStream(follower.follow());
            });
        },
      });
      expect(result.size).to.equal(size);
      expect(proxy.cuts).to.be.greaterThan(0);
      expect(result.resumes).to.be.within(1, proxy.cuts);
      expect(await following).to.deep.equal({ sha256: source.sha256, size });
      await follower?.close();
      const stored = await request(`${server.url}/api/v1/resources/${result.key}/content`);
      expect(sha256(stored.body)).to.equal(source.sha256);
      expect((await hsp.status(result.key)).state).to.equal('COMPLETED');
      await hsp.close();
    } finally {
      await proxy.close();
    }
  });
});
