import { once } from 'node:events';
import type { Socket } from 'node:net';
import { getDefaultHighWaterMark, Readable } from 'node:stream';
import { setTimeout as delay, setImmediate as nextTurn } from 'node:timers/promises';
import { expect } from 'chai';
import WebSocket from 'ws';
import { ByteBudget } from './byte-budget.js';
import { buildClientFrame } from './client-frame.testkit.js';
import type { WsCloseInfo, WsConnection, WsConnectionOptions } from './connection.js';
import { Opcode } from './opcodes.js';
import { parseFrames } from './server-frames.testkit.js';
import { connectPausedPeer, startWsTestServer, until, type WsTestServer } from './test-server.testkit.js';

const MiB = 1024 * 1024;

function closeOf(connection: WsConnection): Promise<WsCloseInfo> {
  return new Promise((resolve) => connection.once('close', resolve));
}

describe('websocket WsConnection: abusive, slow and greedy peers', function () {
  this.timeout(60_000);

  let server: WsTestServer | undefined;
  const sockets: Socket[] = [];

  async function pausedPeer(options: Partial<WsConnectionOptions>): Promise<{ socket: Socket; connection: WsConnection }> {
    server ??= await startWsTestServer(options);
    const peer = await connectPausedPeer(server);
    sockets.push(peer.socket);
    return peer;
  }

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await server?.close();
    server = undefined;
  });

  describe('pings and pongs', () => {
    it('keeps at most one pong for a peer that floods pings and never reads, then closes it 1008', async () => {
      const { socket, connection } = await pausedPeer({ pingIntervalMs: 200, closeTimeoutMs: 500 });
      let info: WsCloseInfo | undefined;
      const closed = closeOf(connection).then((closeInfo) => {
        info = closeInfo;
      });
      let mostBuffered = 0;
      const sampler = setInterval(() => {
        mostBuffered = Math.max(mostBuffered, connection.bufferedAmount);
      }, 2);
      // Pongs of 127 bytes: the server's answers fill the kernel's buffers (a few MiB) first.
      const pings = Buffer.concat(
        Array.from({ length: 512 }, (_, i) => buildClientFrame({ opcode: Opcode.PING, payload: Buffer.alloc(125, i) })),
      );
      let sent = 0;
      try {
        // Stops once the server buffers what a bounded server never would (the old defect).
        while (info === undefined && mostBuffered < MiB && sent < 512 * MiB) {
          sent += pings.length;
          if (!socket.write(pings)) await Promise.race([once(socket, 'drain').catch(() => {}), closed]);
          else await nextTurn();
        }
        await closed;
      } finally {
        clearInterval(sampler);
      }
      // The bound is the socket's high-water mark (16 KiB on Node 20, 64 KiB from Node 22) and one pong.
      expect(mostBuffered, 'bytes buffered for the peer').to.be.lessThan(Math.max(64 * 1024, getDefaultHighWaterMark(false) + 1024));
      expect(info).to.include({ code: 1008, remote: false });
      expect(info?.reason).to.match(/pings but reads none/);
    });

    it('answers a peer that pings while reading a long reply, and keeps it', async () => {
      // Client and server share this process: on a loaded machine a short interval can pass
      // with neither side scheduled, which would look like a peer that reads nothing.
      server = await startWsTestServer({ pingIntervalMs: 400 });
      const client = new WebSocket(server.url, { maxPayload: 0 });
      await once(client, 'open');
      const connection = await server.nextConnection();
      let pongs = 0;
      client.on('pong', () => pongs++);
      const pinger = setInterval(() => client.ping(), 5);
      const message = once(client, 'message') as Promise<[Buffer]>;
      const chunks = Array.from({ length: 40 }, (_, i) => Buffer.alloc(MiB, i));
      try {
        await connection.sendBinary(Readable.from(chunks), { length: 40 * MiB });
        expect((await message)[0].length).to.equal(40 * MiB);
        await until(() => pongs > 0);
        expect(connection.closed).to.equal(false);
      } finally {
        clearInterval(pinger);
        client.terminate();
      }
    });

    it('sends a due ping between two frames of a message, not after the whole message', async () => {
      const { socket, connection } = await pausedPeer({ pingIntervalMs: 50 });
      const received: Buffer[] = [];
      let receivedBytes = 0;
      socket.on('data', (chunk: Buffer) => {
        received.push(chunk);
        receivedBytes += chunk.length;
      });
      socket.resume();
      // The peer stays alive by sending (unsolicited) pongs; it reads everything at once.
      const keepalive = setInterval(() => socket.write(buildClientFrame({ opcode: Opcode.PONG })), 10);
      try {
        const source = new Readable({ read() {} });
        const length = 16 * MiB + 1000; // two frames: 16 MiB, then 1000 bytes
        const sent = connection.sendBinary(source, { length });
        source.push(Buffer.alloc(16 * MiB - 10, 1));
        await delay(300); // pings fall due while the first frame is open
        source.push(Buffer.alloc(20, 2)); // ends the first frame and opens the second, in one chunk
        await delay(300);
        source.push(Buffer.alloc(990, 3));
        source.push(null);
        await sent;
        await until(() => receivedBytes >= length + 14);
      } finally {
        clearInterval(keepalive);
      }
      const frames = parseFrames(Buffer.concat(received));
      const first = frames.findIndex((frame) => frame.opcode === Opcode.BINARY);
      const second = frames.findIndex((frame) => frame.opcode === Opcode.CONTINUATION);
      expect(frames[first]?.payload.length).to.equal(16 * MiB);
      expect(frames[second]?.payload.length).to.equal(1000);
      const between = frames.slice(first + 1, second).map((frame) => frame.opcode);
      expect(between, 'frames between the two data frames').to.include(Opcode.PING);
    });
  });

  describe('keepalive', () => {
    it('keeps a slow reader that answers no ping: taking our output is its proof of life', async () => {
      const { socket, connection } = await pausedPeer({ pingIntervalMs: 800 });
      let info: WsCloseInfo | undefined;
      connection.once('close', (closeInfo) => {
        info = closeInfo;
      });
      const total = 24 * MiB;
      // One write of 24 MiB: it completes (and 'drain' comes) only once nearly all is read.
      const sent = connection.sendBinary(Buffer.alloc(total));
      let received = 0;
      while (received < total && info === undefined) {
        const chunk = socket.read() as Buffer | null; // what arrived since the last read (tens of KiB)
        if (chunk !== null) received += chunk.length;
        await delay(5);
      }
      expect(info, 'the slow reader was dropped').to.equal(undefined);
      await sent;
    });

    it('drops a peer that reads nothing and answers no ping', async () => {
      const { connection } = await pausedPeer({ pingIntervalMs: 200 });
      const closed = closeOf(connection);
      connection.sendBinary(Buffer.alloc(16 * MiB)).catch(() => {});
      const info = await closed;
      expect(info).to.include({ code: 1006, remote: false });
      expect(info.reason).to.match(/keepalive/i);
    });
  });

  describe('unfinished text messages, all connections together', () => {
    it('closes with 1013 the connection whose partial message would pass the server budget, and gives memory back', async () => {
      const budget = new ByteBudget(100 * 1024);
      const options = { maxTextMessageBytes: 64 * 1024, textBudget: budget, closeTimeoutMs: 500 };
      const first = await pausedPeer(options);
      const texts: string[] = [];
      first.connection.on('text', (text) => texts.push(text));
      const text = 'x'.repeat(60 * 1024);
      const frame = buildClientFrame({ opcode: Opcode.TEXT, payload: Buffer.from(text) });
      first.socket.write(frame.subarray(0, 1000)); // header and the start of its payload
      await until(() => budget.used === 60 * 1024);

      const second = await pausedPeer(options);
      const secondClosed = closeOf(second.connection);
      second.socket.write(frame.subarray(0, 100));
      const info = await secondClosed;
      expect(info).to.include({ code: 1013, remote: false });
      expect(info.reason).to.match(/try again later/);
      expect(budget.used).to.equal(60 * 1024);

      first.socket.write(frame.subarray(1000));
      await until(() => texts.length === 1);
      expect(texts[0]).to.equal(text);
      expect(budget.used).to.equal(0);

      // A peer that goes away mid-message gives its share back too.
      first.socket.write(frame.subarray(0, 1000));
      await until(() => budget.used === 60 * 1024);
      first.socket.destroy();
      await until(() => budget.used === 0);
    });
  });
});
