import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { Duplex } from 'node:stream';
import { expect } from 'chai';
import { buildClientFrame } from './client-frame.testkit.js';
import type { WsCloseInfo } from './connection.js';
import { acceptWebSocket } from './handshake.js';
import { Opcode } from './opcodes.js';
import { DEFAULT_TEST_OPTIONS, RawClient, startWsTestServer, upgradeRequest, type WsTestServer } from './test-server.testkit.js';

interface ParsedResponse {
  statusLine: string;
  headers: Map<string, string>;
  body: string;
}

function parseResponse(data: Buffer): ParsedResponse {
  const text = data.toString('latin1');
  const headerEnd = text.indexOf('\r\n\r\n');
  const [statusLine = '', ...headerLines] = text.slice(0, headerEnd).split('\r\n');
  const headers = new Map(
    headerLines.map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()] as const;
    }),
  );
  return { statusLine, headers, body: text.slice(headerEnd + 4) };
}

/** Calls acceptWebSocket with a hand-made request and a socket that records what is written. */
async function handshakeWith(overrides: { method?: string; headers: Record<string, string | undefined> }): Promise<{
  accepted: boolean;
  response: ParsedResponse;
}> {
  const written: Buffer[] = [];
  const socket = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      written.push(chunk);
      callback();
    },
  });
  const headers = Object.fromEntries(Object.entries(overrides.headers).filter(([, value]) => value !== undefined));
  // A minimal stand-in: acceptWebSocket reads only these fields of the request.
  const request = { method: overrides.method ?? 'GET', httpVersionMajor: 1, httpVersionMinor: 1, headers } as unknown as IncomingMessage;
  const connection = acceptWebSocket(request, socket, Buffer.alloc(0), DEFAULT_TEST_OPTIONS);
  if (connection === undefined) {
    if (!socket.destroyed) await once(socket, 'close');
  } else {
    connection.terminate();
  }
  return { accepted: connection !== undefined, response: parseResponse(Buffer.concat(written)) };
}

const validHeaders = {
  upgrade: 'websocket',
  connection: 'keep-alive, Upgrade',
  'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
  'sec-websocket-version': '13',
};

describe('websocket handshake', () => {
  describe('request validation', () => {
    it('accepts a valid request with the RFC 6455 sample key', async () => {
      const { accepted, response } = await handshakeWith({ headers: validHeaders });
      expect(accepted).to.equal(true);
      expect(response.statusLine).to.equal('HTTP/1.1 101 Switching Protocols');
      expect(response.headers.get('sec-websocket-accept')).to.equal('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
      expect(response.headers.get('upgrade')).to.equal('websocket');
    });

    const badRequests: { name: string; method?: string; headers: Record<string, string | undefined>; status: number }[] = [
      { name: 'a POST', method: 'POST', headers: validHeaders, status: 400 },
      { name: 'a missing Upgrade', headers: { ...validHeaders, upgrade: undefined }, status: 400 },
      { name: 'a wrong Upgrade', headers: { ...validHeaders, upgrade: 'h2c' }, status: 400 },
      { name: 'Connection without upgrade', headers: { ...validHeaders, connection: 'keep-alive' }, status: 400 },
      { name: 'a missing key', headers: { ...validHeaders, 'sec-websocket-key': undefined }, status: 400 },
      { name: 'a key not of 16 bytes', headers: { ...validHeaders, 'sec-websocket-key': 'c2hvcnQ=' }, status: 400 },
      { name: 'version 8', headers: { ...validHeaders, 'sec-websocket-version': '8' }, status: 426 },
    ];
    for (const { name, method, headers, status } of badRequests) {
      it(`refuses ${name} with ${status} and a JSON error`, async () => {
        const { accepted, response } = await handshakeWith({ ...(method ? { method } : {}), headers });
        expect(accepted).to.equal(false);
        expect(response.statusLine).to.match(new RegExp(`^HTTP/1\\.1 ${status} `));
        expect(response.headers.get('content-type')).to.match(/^application\/json/);
        expect(Number(response.headers.get('content-length'))).to.equal(Buffer.byteLength(response.body));
        const body = JSON.parse(response.body) as { error: { code: string; message: string } };
        expect(body.error.code).to.equal('INVALID_MESSAGE');
        expect(body.error.message).to.be.a('string').and.not.equal('');
        if (status === 426) expect(response.headers.get('sec-websocket-version')).to.equal('13');
      });
    }
  });

  describe('over TCP', () => {
    let server: WsTestServer;
    beforeEach(async () => {
      server = await startWsTestServer();
    });
    afterEach(async () => {
      await server.close();
    });

    it('declines permessage-deflate offers', async () => {
      const client = await RawClient.connect(server.port);
      client.socket.write(upgradeRequest('/', { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' }));
      await client.waitFor('\r\n\r\n');
      const response = parseResponse(client.data);
      expect(response.statusLine).to.equal('HTTP/1.1 101 Switching Protocols');
      expect(response.headers.has('sec-websocket-extensions')).to.equal(false);
      expect(response.headers.get('sec-websocket-accept')).to.equal('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
      client.socket.destroy();
    });

    it('answers a wrong version with 426 over the wire and closes the socket', async () => {
      const client = await RawClient.connect(server.port);
      client.socket.write(upgradeRequest('/', { 'Sec-WebSocket-Version': '8' }));
      const response = parseResponse(await client.untilClosed());
      expect(response.statusLine).to.equal('HTTP/1.1 426 Upgrade Required');
      expect(response.headers.get('sec-websocket-version')).to.equal('13');
      expect(JSON.parse(response.body)).to.have.nested.property('error.code', 'INVALID_MESSAGE');
    });

    it('lets callers refuse an upgrade with rejectUpgrade (404)', async () => {
      const client = await RawClient.connect(server.port);
      client.socket.write(upgradeRequest('/missing'));
      const response = parseResponse(await client.untilClosed());
      expect(response.statusLine).to.equal('HTTP/1.1 404 Not Found');
      expect(JSON.parse(response.body)).to.deep.equal({
        error: { code: 'RESOURCE_NOT_FOUND', message: 'Unknown path /missing' },
      });
    });

    it('parses frames that arrived in the same packet as the request (head)', async () => {
      const client = await RawClient.connect(server.port);
      client.socket.write(
        Buffer.concat([Buffer.from(upgradeRequest('/')), buildClientFrame({ opcode: Opcode.TEXT, payload: Buffer.from('early bird') })]),
      );
      const connection = await server.nextConnection();
      const [text] = (await once(connection, 'text')) as [string];
      expect(text).to.equal('early bird');
      client.socket.destroy();
    });

    it('closes with 1002 when a client frame is not masked', async () => {
      const client = await RawClient.connect(server.port);
      client.socket.write(upgradeRequest('/'));
      const connection = await server.nextConnection();
      const closed = once(connection, 'close') as Promise<[WsCloseInfo]>;
      const bodyStart = await client.waitFor('\r\n\r\n');
      client.socket.write(buildClientFrame({ opcode: Opcode.TEXT, payload: Buffer.from('hi'), mask: null }));
      // The server sends its close frame and ends the TCP connection without waiting.
      const frames = (await client.untilClosed()).subarray(bodyStart);
      expect(frames[0]).to.equal(0x88);
      expect(frames.readUInt16BE(2)).to.equal(1002);
      expect(frames.subarray(4, 2 + (frames[1] as number)).toString()).to.equal('Client frames must be masked');
      const [info] = await closed;
      expect(info).to.include({ code: 1002, reason: 'Client frames must be masked', remote: false, clean: false });
    });
  });
});
