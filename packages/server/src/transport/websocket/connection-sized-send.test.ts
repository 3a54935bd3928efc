import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { expect } from 'chai';
import WebSocket from 'ws';
import type { WsCloseInfo, WsConnection } from './connection.js';
import { parseFrames } from './server-frames.testkit.js';
import { RawClient, randomSource, rejectionOf, startWsTestServer, upgradeRequest, type WsTestServer } from './test-server.testkit.js';

const MiB = 1024 * 1024;

/** A Readable whose chunks are pushed by the test. */
function manualSource(): Readable {
  return new Readable({ read() {} });
}

describe('websocket WsConnection: binary messages of known length', function () {
  this.timeout(30_000);

  let server: WsTestServer | undefined;
  const clients: WebSocket[] = [];

  async function setup(clientOptions: WebSocket.ClientOptions = {}): Promise<{ client: WebSocket; connection: WsConnection }> {
    server = await startWsTestServer();
    const client = new WebSocket(server.url, clientOptions);
    clients.push(client);
    await once(client, 'open');
    return { client, connection: await server.nextConnection() };
  }

  function closedWith(client: WebSocket): Promise<{ code: number; reason: string }> {
    return new Promise((resolve) => client.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));
  }

  afterEach(async () => {
    for (const client of clients.splice(0)) client.terminate();
    await server?.close();
    server = undefined;
  });

  it('sends a streamed message as one frame whose header announces the whole length', async () => {
    server = await startWsTestServer();
    const raw = await RawClient.connect(server.port);
    raw.socket.write(upgradeRequest('/'));
    const connection = await server.nextConnection();
    const bodyStart = await raw.waitFor('\r\n\r\n');
    const data = randomBytes(MiB);
    const chunks = Array.from({ length: 16 }, (_, i) => data.subarray(i * 64 * 1024, (i + 1) * 64 * 1024));
    await connection.sendBinary(Readable.from(chunks), { length: MiB });
    while (raw.data.length < bodyStart + 10 + MiB) await once(raw.socket, 'data');
    const frames = parseFrames(raw.data.subarray(bodyStart));
    expect(frames.map((f) => ({ fin: f.fin, opcode: f.opcode, length: f.payload.length }))).to.deep.equal([
      { fin: true, opcode: 2, length: MiB },
    ]);
    expect(frames[0]?.payload.equals(data)).to.equal(true);
    connection.terminate();
  });

  it('delivers a message above the frame size limit whole, in several sized frames', async () => {
    const { client, connection } = await setup({ maxPayload: 0 });
    const total = 40 * MiB;
    const sent = createHash('sha256');
    const source = randomSource(total, MiB + 7, sent);
    const message = once(client, 'message') as Promise<[Buffer, boolean]>;
    await connection.sendBinary(source, { length: total });
    const [data, isBinary] = await message;
    expect(isBinary).to.equal(true);
    expect(data.length).to.equal(total);
    expect(createHash('sha256').update(data).digest('hex')).to.equal(sent.digest('hex'));
  });

  it('sends an empty message for length 0', async () => {
    const { client, connection } = await setup();
    const message = once(client, 'message') as Promise<[Buffer, boolean]>;
    await connection.sendBinary(Readable.from([]), { length: 0 });
    const [data, isBinary] = await message;
    expect(isBinary).to.equal(true);
    expect(data.length).to.equal(0);
  });

  it('close() inside a frame lets the frame finish, then sends the close frame', async () => {
    const { client, connection } = await setup();
    const received: number[] = [];
    client.on('message', (data: Buffer) => received.push(data.length));
    const clientSide = closedWith(client);
    const source = manualSource();
    const sent = connection.sendBinary(source, { length: 100_000 });
    const queued = connection.sendText('never sent');
    source.push(Buffer.alloc(70_000, 1));
    await nextTurn();
    connection.close(1001, 'Server shutdown');
    source.push(Buffer.alloc(30_000, 2)); // the rest of the frame is still read and sent
    await sent;
    expect(await rejectionOf(queued)).to.have.property('code', 'CONNECTION_CLOSED');
    expect(await clientSide).to.deep.equal({ code: 1001, reason: 'Server shutdown' });
    expect(received).to.deep.equal([100_000]);
  });

  it('a source failing inside a frame destroys the socket (a frame cannot be cut short)', async () => {
    const { client, connection } = await setup();
    const clientSide = closedWith(client);
    const serverSide = new Promise<WsCloseInfo>((resolve) => connection.once('close', resolve));
    const source = manualSource();
    const sent = connection.sendBinary(source, { length: 100_000 });
    source.push(Buffer.alloc(1_000));
    await nextTurn();
    source.destroy(new Error('disk on fire'));
    expect(await rejectionOf(sent)).to.have.property('message', 'disk on fire');
    expect((await clientSide).code).to.equal(1006);
    const info = await serverSide;
    expect(info).to.include({ code: 1006, remote: false });
    expect(info.reason).to.contain('disk on fire');
  });

  it('a source that ends short of the announced length fails the send and the connection', async () => {
    const { client, connection } = await setup();
    const clientSide = closedWith(client);
    const sent = connection.sendBinary(Readable.from([Buffer.alloc(10)]), { length: 20 });
    expect(await rejectionOf(sent))
      .to.have.property('message')
      .that.matches(/ended after 10 of the 20 bytes/);
    expect((await clientSide).code).to.equal(1006);
  });

  it('a source failing before its first byte leaves the connection usable', async () => {
    const { client, connection } = await setup();
    const failing = new Readable({
      read() {
        this.destroy(new Error('no such file'));
      },
    });
    expect(await rejectionOf(connection.sendBinary(failing, { length: 10 }))).to.have.property('message', 'no such file');
    const reply = once(client, 'message') as Promise<[Buffer]>;
    await connection.sendText('still here');
    expect((await reply)[0].toString()).to.equal('still here');
  });

  it('refuses an invalid length', async () => {
    const { connection } = await setup();
    expect(await rejectionOf(connection.sendBinary(Readable.from([]), { length: -1 }))).to.be.instanceOf(RangeError);
  });
});
