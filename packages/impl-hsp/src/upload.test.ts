import { createHash } from 'node:crypto';
import { ErrorCode, type HspPacket, type SpoolError } from '@spool/common';
import { expect } from 'chai';
import { HspClient } from './client.js';
import { HspStatusError } from './errors.js';
import { type FakeHspConnection, FakeHspServer } from './testing/fake-hsp-server.js';
import type { HspUploadSource } from './upload-source.js';

const FAST = { initialDelayMs: 5, maxDelayMs: 20, maxAttempts: 5 };
const KEY = '0190aaaa-bbbb-7ccc-8ddd-eeeeffff0000';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function bytesOf(size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + (i >> 8)) & 0xff;
  return out;
}

function accept(conn: FakeHspConnection, offset: number, accepted = 0): void {
  conn.reply({
    'data-format': 'bytes',
    status: '1',
    'x-stream': `${accepted}:4096`,
    'x-stream-key': KEY,
    'x-stream-offset': String(offset),
    'x-resource': 'http://h/r',
  });
}

function total(packet: HspPacket): number {
  return Number((packet.headers.get('x-stream') ?? '').split(':')[0]);
}

/**
 * A server that stores a stream, cuts the first connection after `cutAfter` bytes, and
 * claims on resume that only `durable` of them survived (the rest was never checkpointed).
 */
async function cuttingServer(cutAfter: number, durable: number) {
  let stored: Buffer = Buffer.alloc(0);
  const requests: HspPacket[] = [];
  const server = await FakeHspServer.start(async (conn, index) => {
    const request = await conn.packet();
    requests.push(request);
    const size = total(request);
    if (index === 0) {
      accept(conn, 0);
      stored = await conn.raw(cutAfter);
      conn.destroy();
      return;
    }
    stored = stored.subarray(0, durable);
    accept(conn, durable);
    stored = Buffer.concat([stored, await conn.raw(size - durable)]);
    conn.reply({ 'data-format': 'bytes', status: '0', 'x-stream': '0:0', 'x-stream-key': KEY });
  });
  return { server, requests, stored: () => stored };
}

async function failure(promise: Promise<unknown>): Promise<SpoolError> {
  try {
    await promise;
  } catch (error) {
    return error as SpoolError;
  }
  throw new Error('expected a failure');
}

describe('HspClient.upload (against a scripted HSP server)', () => {
  const servers: FakeHspServer[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });

  /** The three kinds of source, each made from the same bytes. */
  const SOURCES: [string, (data: Buffer) => HspUploadSource][] = [
    ['a buffer', (data) => data],
    [
      'a re-openable source',
      (data) =>
        async function* (offset: number) {
          yield data.subarray(offset);
        },
    ],
    [
      'a read-once iterable (replayed from the window)',
      (data) =>
        (async function* () {
          for (let at = 0; at < data.length; at += 10_000) yield data.subarray(at, at + 10_000);
        })(),
    ],
  ];

  for (const [name, sourceOf] of SOURCES) {
    it(`resumes ${name} by key from the server’s durable offset, not from where it was cut`, async () => {
      const data = bytesOf(200_000);
      const fake = await cuttingServer(120_000, 90_000);
      servers.push(fake.server);
      const ready: string[] = [];
      const result = await new HspClient({ port: fake.server.port }).upload(sourceOf(data), {
        size: data.length,
        filename: 'a.bin',
        bufsize: 8192,
        reconnect: FAST,
        onReady: (r) => ready.push(r.key),
      });
      expect(result).to.deep.include({ key: KEY, size: data.length, resumes: 1, resource: 'http://h/r' });
      expect(ready).to.deep.equal([KEY]);
      expect(sha(fake.stored())).to.equal(sha(data));
      // The first request describes the resource; the resume names only the key.
      expect(fake.requests[0]?.headers.get('x-filename')).to.equal('a.bin');
      expect(fake.requests[1]?.headers.get('x-stream-key')).to.equal(KEY);
      expect(fake.requests[1]?.headers.has('x-filename')).to.equal(false);
      expect(fake.requests[1]?.headers.get('x-stream')).to.equal(`${data.length}:8192`);
    });
  }

  it('fails a read-once source whose resume offset is older than the replay window', async () => {
    const data = bytesOf(100_000);
    const fake = await cuttingServer(80_000, 1_000);
    servers.push(fake.server);
    async function* once() {
      for (let at = 0; at < data.length; at += 10_000) yield data.subarray(at, at + 10_000);
    }
    const error = await failure(
      new HspClient({ port: fake.server.port }).upload(once(), { size: data.length, replayBytes: 20_000, reconnect: FAST }),
    );
    expect(error.code).to.equal(ErrorCode.UPLOAD_ABORTED);
    expect(error.message).to.match(/Cannot resume at byte 1000/);
  });

  it('reports partial acceptance: only n bytes taken, the final answer’s status and what is missing', async () => {
    const server = await FakeHspServer.start(async (conn) => {
      await conn.packet();
      accept(conn, 0, 600);
      await conn.raw(600);
      conn.reply(
        { 'data-format': 'text:utf-8', status: '130', 'x-stream': '400:0', 'x-stream-key': KEY, 'x-error': 'QUOTA_EXCEEDED' },
        'too big',
      );
    });
    servers.push(server);
    const error = await failure(new HspClient({ port: server.port }).upload(bytesOf(1000), { reconnect: FAST }));
    expect(error).to.be.instanceOf(HspStatusError);
    expect(error).to.deep.include({ code: ErrorCode.QUOTA_EXCEEDED, status: 130, message: 'too big' });
    expect(error.details).to.deep.include({ missing: 400, key: KEY, step: 'final' });
    expect(server.connections).to.equal(1);
  });

  it('does not retry a refusal (49, 50, 129): the typed error at once', async () => {
    const server = await FakeHspServer.start(async (conn) => {
      await conn.packet();
      conn.reply({ 'data-format': 'text:utf-8', status: '50', 'x-stream': '-1:0' }, 'Token "dash" (reader) may not create');
    });
    servers.push(server);
    const error = await failure(new HspClient({ port: server.port, token: 'x' }).upload(bytesOf(10), { reconnect: FAST }));
    expect(error).to.deep.include({ code: ErrorCode.FORBIDDEN, status: 50 });
    expect(server.connections).to.equal(1);
  });

  it('treats a resume answered 69 as done when the resource is COMPLETED at the full size (the final answer was lost)', async () => {
    const data = bytesOf(5000);
    const server = await FakeHspServer.start(async (conn, index) => {
      await conn.packet();
      if (index === 0) {
        accept(conn, 0);
        await conn.raw(data.length);
        conn.destroy(); // every byte arrived, the final answer did not
        return;
      }
      conn.reply({ 'data-format': 'text:utf-8', status: '69', 'x-stream': '-1:0', 'x-error': 'RESOURCE_TERMINAL' }, 'completed');
      const status = await conn.packet();
      expect(status.headers.get('route')).to.equal('/status');
      conn.reply({ 'data-format': 'json:utf-8', status: '0' }, JSON.stringify({ state: 'COMPLETED', size: data.length, checksum: null }));
    });
    servers.push(server);
    const result = await new HspClient({ port: server.port }).upload(data, { reconnect: FAST });
    expect(result).to.deep.include({ key: KEY, size: data.length });
  });

  it('retries a server at its connection limit (132 SERVER_BUSY), and resumes nothing it did not start', async () => {
    const data = bytesOf(3000);
    let stored: Buffer = Buffer.alloc(0);
    const server = await FakeHspServer.start(async (conn, index) => {
      if (index === 0) {
        conn.reply({ 'data-format': 'text:utf-8', status: '132', 'x-error': 'SERVER_BUSY' }, 'Too many connections');
        conn.socket.end();
        return;
      }
      const request = await conn.packet();
      expect(request.headers.has('x-stream-key')).to.equal(false);
      accept(conn, 0);
      stored = await conn.raw(data.length);
      conn.reply({ 'data-format': 'bytes', status: '0', 'x-stream': '0:0', 'x-stream-key': KEY });
    });
    servers.push(server);
    const result = await new HspClient({ port: server.port }).upload(data, { reconnect: FAST });
    expect(result).to.deep.include({ size: data.length, resumes: 0 });
    expect(stored.equals(data)).to.equal(true);
    expect(server.connections).to.equal(2);
  });

  it('gives up after the retry budget when the server stays away', async () => {
    const server = await FakeHspServer.start(async (conn) => conn.destroy());
    servers.push(server);
    const error = await failure(new HspClient({ port: server.port }).upload(bytesOf(10), { reconnect: { ...FAST, maxAttempts: 3 } }));
    expect(error.code).to.equal(ErrorCode.CONNECTION_CLOSED);
    expect(server.connections).to.equal(4);
  });
});
