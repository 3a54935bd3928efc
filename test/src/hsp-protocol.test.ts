/**
 * HSP over TCP at the wire: the sheet's example byte for byte, several requests per
 * connection and one per connection, the routes, and every malformed input the sheet
 * lists — each answered 129 with its reason and that connection closed, while the server
 * and the other connections carry on.
 */
import { createHash } from 'node:crypto';
import { encodePacket } from '@spool/common';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { RawHspSocket } from './helpers/hsp-raw-client.js';
import { request } from './helpers/http-client.js';
import { startTestServer } from './helpers/server.js';

const SHEET_REPLY = Buffer.concat([
  Buffer.from('deadbeef0100002100000007', 'hex'),
  Buffer.from('data-format:text:utf-8\nstatus:0\n\npong:hi'),
]);

const hspPort = (server: SpoolServer) => server.host.tcpPorts.hsp as number;

describe('HSP protocol: packets, routes, malformed input', () => {
  let server: SpoolServer;
  before(async () => {
    server = await startTestServer({ hspIdleTimeoutMs: 600, hspPacketTimeoutMs: 400, hspMaxPayloadBytes: 4096 });
  });
  after(() => server.close());

  it('listens on its own port (hspPort 0: any free one, reported)', () => {
    expect(hspPort(server)).to.be.above(0);
    expect(hspPort(server)).to.not.equal(server.port);
  });

  it('answers the sheet’s example request with the sheet’s example answer, byte for byte', async () => {
    const client = await RawHspSocket.open(hspPort(server));
    await client.write(
      Buffer.concat([Buffer.from('deadbeef0100002400000002', 'hex'), Buffer.from('route:/ping\ndata-format:text:utf-8\n\nhi')]),
    );
    const answer = await client.answer(0);
    expect(answer?.raw.equals(SHEET_REPLY), answer?.raw.toString('hex')).to.equal(true);
    client.destroy();
  });

  it('serves several requests on one connection, pipelined in one write, answered in order', async () => {
    const client = await RawHspSocket.open(hspPort(server));
    await client.write(
      Buffer.concat([
        encodePacket({ route: '/ping', 'data-format': 'text:utf-8' }, 'one'),
        encodePacket({ route: '/nope' }),
        encodePacket({ route: '/ping', 'data-format': 'bytes' }, Buffer.from([0, 1, 2])),
      ]),
    );
    const answers = [await client.answer(0), await client.answer(1), await client.answer(2)];
    expect(answers.map((a) => a?.status)).to.deep.equal([0, 69, 0]);
    expect(answers[0]?.payload.toString()).to.equal('pong:one');
    expect(answers[1]?.payload.toString()).to.match(/^Unknown route \/nope \(this server serves \/ping, \/upload/);
    expect(answers[2]?.headers['data-format']).to.equal('bytes');
    expect(answers[2]?.payload.equals(Buffer.from('pong:\x00\x01\x02', 'latin1'))).to.equal(true);
    client.destroy();
  });

  it('serves the original’s one request per connection: a client that half-closes after its request still gets the answer', async () => {
    const client = await RawHspSocket.open(hspPort(server));
    client.socket.end(encodePacket({ route: '/ping', 'data-format': 'text:utf-8' }, 'bye'));
    expect((await client.answer(0))?.payload.toString()).to.equal('pong:bye');
    expect(await client.closedWithin(2_000)).to.equal(true);
  });

  it('answers request errors and keeps the connection: no route, unknown data-format, a stream request on a route that takes none', async () => {
    const client = await RawHspSocket.open(hspPort(server));
    const noRoute = await client.request({ 'data-format': 'bytes' });
    expect(noRoute).to.deep.include({ status: 129 });
    expect(noRoute.headers['x-error']).to.equal('INVALID_MESSAGE');
    expect(noRoute.payload.toString()).to.match(/No route header/);
    const format = await client.request({ route: '/ping', 'data-format': 'xml' });
    expect(format.status).to.equal(129);
    expect(format.payload.toString()).to.match(/Unknown data-format "xml"/);
    const stream = await client.request({ route: '/ping', 'data-format': 'bytes', 'x-stream': '10:4' });
    expect(stream.status).to.equal(129);
    expect(stream.headers['x-stream']).to.equal('-1:0');
    expect(stream.headers['x-stream-key']).to.equal(undefined);
    expect(stream.payload.toString()).to.equal('Route /ping does not take stream requests');
    expect((await client.request({ route: '/ping' }, 'still here')).payload.toString()).to.equal('pong:still here');
    client.destroy();
  });

  /** Malformed inputs of the sheet: bytes sent, and the reason expected. */
  const MALFORMED: [string, Buffer, RegExp][] = [
    ['bad magic', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), /bad magic/],
    ['unknown version', Buffer.from('deadbeef0200000100000000', 'hex'), /Unknown HSP version 2/],
    ['flags not 0', Buffer.from('deadbeef0107000100000000', 'hex'), /Flags must be 0/],
    ['no final blank line', withBlock('route:/ping\n'), /does not end with an empty line/],
    ['a line with no ":"', withBlock('route/ping\n\n'), /line 1 has no ':'/],
    ['CRLF line ends', withBlock('route:/ping\r\n\r\n'), /CRLF line ends/],
    [
      'a header block over the limit',
      Buffer.from('deadbeef0100ffff00000000', 'hex'),
      /header block of 65535 bytes is over this server's limit of 16384/,
    ],
    [
      'a payload over the limit (nothing allocated: the preamble alone is answered)',
      Buffer.from('deadbeef01000001ffffffff', 'hex'),
      /payload of 4294967295 bytes is over this server's limit of 4096/,
    ],
    ['an empty header block', Buffer.from('deadbeef0100000000000000', 'hex'), /header block is empty/],
  ];

  for (const [name, bytes, reason] of MALFORMED) {
    it(`refuses ${name}: status 129 with the reason, that connection closed, the others unaffected`, async () => {
      const bystander = await RawHspSocket.open(hspPort(server));
      const client = await RawHspSocket.open(hspPort(server));
      await client.write(bytes);
      const answer = await client.answer(0);
      expect(answer?.status, name).to.equal(129);
      expect(answer?.headers['data-format']).to.equal('text:utf-8');
      expect(answer?.headers['x-error']).to.equal('PROTOCOL_VIOLATION');
      expect(answer?.payload.toString()).to.match(reason);
      expect(await client.closedWithin(3_000), 'closed').to.equal(true);
      expect((await bystander.request({ route: '/ping' }, 'ok')).payload.toString()).to.equal('pong:ok');
      bystander.destroy();
    });
  }

  it('refuses a connection closed mid-packet (the client half-closed): 129 naming how far it got', async () => {
    const client = await RawHspSocket.open(hspPort(server));
    const whole = encodePacket({ route: '/ping' }, 'payload');
    client.socket.end(whole.subarray(0, whole.length - 3));
    const answer = await client.answer(0);
    expect(answer?.status).to.equal(129);
    expect(answer?.payload.toString()).to.equal(
      `Connection closed mid-packet: got ${whole.length - 3} of ${whole.length} bytes of a packet`,
    );
  });

  it('closes an idle connection (hspIdleTimeoutMs) with 129', async () => {
    const client = await RawHspSocket.open(hspPort(server));
    const answer = await client.answer(0, 3_000);
    expect(answer?.status).to.equal(129);
    expect(answer?.headers['x-error']).to.equal('TIMEOUT');
    expect(answer?.payload.toString()).to.match(/No bytes for 600 ms \(hspIdleTimeoutMs\)/);
    expect(await client.closedWithin(3_000)).to.equal(true);
  });

  it('closes a slow-loris sender (a byte now and then, never a whole packet) at the packet deadline', async () => {
    const client = await RawHspSocket.open(hspPort(server));
    const packet = encodePacket({ route: '/ping' }, 'slow');
    let sent = 0;
    const trickle = setInterval(() => {
      if (sent < packet.length - 1) void client.write(packet.subarray(sent, ++sent));
    }, 100);
    try {
      const answer = await client.answer(0, 3_000);
      expect(answer?.status).to.equal(129);
      expect(answer?.payload.toString()).to.match(/^Packet not complete within 400 ms \(hspPacketTimeoutMs\): got \d+ /);
      expect(await client.closedWithin(3_000)).to.equal(true);
    } finally {
      clearInterval(trickle);
    }
  });

  it('uploads a plain packet’s payload as a whole resource, then serves /status, /download ranges and /list', async () => {
    const client = await RawHspSocket.open(hspPort(server));
    const body = 'first line\nsecond line\n';
    const created = await client.request(
      { route: '/upload', 'data-format': 'text:utf-8', 'x-filename': 'packet.log', 'x-checksum': 'md5' },
      body,
    );
    expect(created.status).to.equal(0);
    const id = created.headers['x-resource-id'] as string;
    expect(created.headers['x-md5']).to.equal(createHash('md5').update(body).digest('hex'));
    expect(created.headers['x-resource']).to.equal(`${server.url}/api/v1/resources/${id}/content`);
    expect((await request(created.headers['x-resource'] as string)).body.toString()).to.equal(body);

    const status = await client.request({ route: '/status', 'x-resource-id': id });
    expect(status.headers).to.deep.include({ 'data-format': 'json:utf-8', 'x-state': 'COMPLETED', 'x-size': String(body.length) });
    expect(JSON.parse(status.payload.toString())).to.deep.include({
      id,
      filename: 'packet.log',
      mimeType: 'text/plain',
      lines: 2,
      state: 'COMPLETED',
    });

    const range = await client.request({ route: '/download', 'x-resource-id': id, 'x-offset': '6', 'x-length': '4' });
    expect(range.headers).to.deep.include({ 'data-format': 'text:utf-8', 'x-offset': '6', 'x-size': String(body.length) });
    expect(range.payload.toString()).to.equal('line');
    expect((await client.request({ route: '/download', 'x-resource-id': id })).payload.toString()).to.equal(body);
    const past = await client.request({ route: '/download', 'x-resource-id': id, 'x-offset': '20', 'x-length': '10' });
    expect(past.status).to.equal(129);
    expect(past.headers['x-error']).to.equal('INVALID_RANGE');

    const listed = JSON.parse((await client.request({ route: '/list', 'x-prefix': 'packet.' })).payload.toString());
    expect(listed.resources.map((r: { id: string }) => r.id)).to.deep.equal([id]);
    expect((await client.request({ route: '/status', 'x-resource-id': 'nope' })).status).to.equal(69);
    expect((await client.request({ route: '/status' })).payload.toString()).to.equal('Route /status needs the x-resource-id header');
    client.destroy();
  });
});

describe('HSP protocol: connection limit, off switch and shutdown', () => {
  it('does not listen with hspPort off (and mounts no HSP requests)', async () => {
    const server = await startTestServer({ hspPort: 'off' });
    try {
      expect(server.host.tcpPorts).to.deep.equal({});
      expect(server.host.tcpMounts).to.deep.equal([]);
    } finally {
      await server.close();
    }
  });

  it('answers a socket over maxConnections with 132 and closes it', async () => {
    const server = await startTestServer({ maxConnections: 1 });
    try {
      const first = await RawHspSocket.open(server.host.tcpPorts.hsp as number);
      await first.request({ route: '/ping' });
      const refused = await RawHspSocket.open(server.host.tcpPorts.hsp as number);
      const answer = await refused.answer(0);
      expect(answer?.status).to.equal(132);
      expect(answer?.payload.toString()).to.match(/Too many connections/);
      expect(await refused.closedWithin(3_000)).to.equal(true);
      first.destroy();
    } finally {
      await server.close();
    }
  });

  it('at shutdown ends idle connections and tells a stream in progress 132, leaving it resumable', async () => {
    const server = await startTestServer();
    const port = server.host.tcpPorts.hsp as number;
    const idle = await RawHspSocket.open(port);
    const streaming = await RawHspSocket.open(port);
    const ready = await streaming.request({ route: '/upload', 'data-format': 'bytes', 'x-stream': '1000:100' });
    await streaming.write(Buffer.alloc(300, 7));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await server.close();
    expect(await idle.closedWithin(3_000)).to.equal(true);
    const final = await streaming.answer(1);
    expect(final?.status).to.equal(132);
    expect(final?.headers).to.deep.include({
      'x-stream': '700:0',
      'x-stream-key': ready.headers['x-stream-key'],
      'x-stream-offset': '300',
    });
  });
});

/** A packet whose header block is `block`, exactly (its length declared right), no payload. */
function withBlock(block: string): Buffer {
  const bytes = Buffer.from(block);
  const preamble = Buffer.from('deadbeef0100000000000000', 'hex');
  preamble.writeUInt16BE(bytes.length, 6);
  return Buffer.concat([preamble, bytes]);
}
