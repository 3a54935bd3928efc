import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep, setImmediate as turn } from 'node:timers/promises';
import { ConnectionClosedError } from '@spool/common';
import { expect } from 'chai';
import { type WebSocket, WebSocketServer } from 'ws';
import { connectWebSocket, isRetryableConnectFailure, SendWindow, startHeartbeat } from './web-socket-connection.js';

/** A WebSocket server on 127.0.0.1 whose connections the test takes one by one. */
async function startServer(options: { autoPong?: boolean } = {}) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, autoPong: options.autoPong ?? true });
  await new Promise((resolve) => wss.once('listening', resolve));
  const url = new URL(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws/x?token=spr_secret`);
  const nextConnection = () => new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  const close = async () => {
    for (const client of wss.clients) client.terminate();
    await new Promise((resolve) => wss.close(resolve));
  };
  return { url, nextConnection, close };
}

/** An HTTP server that answers every upgrade with `status`. */
async function refusingServer(status: number): Promise<{ url: URL; close(): Promise<void> }> {
  const server = http.createServer();
  server.on('upgrade', (_request, socket) => socket.end(`HTTP/1.1 ${status} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws/x?token=spr_secret`);
  return { url, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function connectionError(url: URL): Promise<ConnectionClosedError> {
  const error = await connectWebSocket(url, { handshakeTimeoutMs: 5_000 }).then(
    (ws) => {
      ws.terminate();
      throw new Error('connected');
    },
    (e: unknown) => e,
  );
  expect(error).to.be.instanceOf(ConnectionClosedError);
  return error as ConnectionClosedError;
}

describe('connectWebSocket (one connect helper for both protocols)', () => {
  it('names a refused upgrade by its HTTP status and the URL without its query; 5xx and unreachable may be retried', async () => {
    for (const status of [401, 503]) {
      const server = await refusingServer(status);
      try {
        const error = await connectionError(server.url);
        expect(error.details).to.include({ httpStatus: status, url: `${server.url.origin}/ws/x` });
        expect(error.message).to.not.include('spr_secret');
        expect(isRetryableConnectFailure(error)).to.equal(status === 503);
      } finally {
        await server.close();
      }
    }
    const gone = await refusingServer(200);
    await gone.close();
    const unreachable = await connectionError(gone.url);
    expect(unreachable.details?.httpStatus).to.equal(undefined);
    expect(isRetryableConnectFailure(unreachable)).to.equal(true);
  });

  it('offers the subprotocols asked for and hands the socket over before it opens', async () => {
    const server = await startServer();
    try {
      const accepted = server.nextConnection();
      let attached: WebSocket | undefined;
      const ws = await connectWebSocket(server.url, { handshakeTimeoutMs: 5_000, protocols: ['spool.v1'] }, (socket) => {
        attached = socket;
      });
      expect(ws).to.equal(attached);
      expect((await accepted).protocol).to.equal('spool.v1');
      ws.terminate();
    } finally {
      await server.close();
    }
  });
});

describe('SendWindow (one bounded send window for both protocols)', () => {
  it('resolves at once while at most highWaterMark bytes are in flight, else once the socket wrote them out', async () => {
    const server = await startServer();
    try {
      const accepted = server.nextConnection();
      const ws = await connectWebSocket(server.url, { handshakeTimeoutMs: 5_000 });
      const peer = await accepted;
      let received = 0;
      peer.on('message', (data: Buffer) => {
        received += data.length;
      });
      peer.pause(); // a reader that stopped reading: the kernel buffers fill, the big write cannot finish
      let written = 0;
      const window = new SendWindow(ws, 64 * 1024, () => written++);
      const ended = new AbortController().signal;
      await window.send(Buffer.alloc(1000), true, ended);
      let bigSent = false;
      const big = window.send(Buffer.alloc(32 * 1024 * 1024), true, ended).then(() => {
        bigSent = true;
      });
      for (let i = 0; i < 20; i++) await turn();
      expect(bigSent).to.equal(false);
      peer.resume();
      await big;
      expect(written).to.equal(2);
      while (received < 1000 + 32 * 1024 * 1024) await sleep(5);
      ws.terminate();
    } finally {
      await server.close();
    }
  });

  it('stops waiting when the connection ends, with its reason', async () => {
    const server = await startServer();
    try {
      const accepted = server.nextConnection();
      const ws = await connectWebSocket(server.url, { handshakeTimeoutMs: 5_000 });
      (await accepted).pause();
      const connection = new AbortController();
      const waiting = new SendWindow(ws, 1024).send(Buffer.alloc(32 * 1024 * 1024), true, connection.signal);
      const reason = new ConnectionClosedError('lost');
      connection.abort(reason);
      expect(await waiting.catch((e: unknown) => e)).to.equal(reason);
      ws.terminate();
    } finally {
      await server.close();
    }
  });
});

describe('startHeartbeat (one dead-peer detector for both protocols)', () => {
  it('terminates a socket whose peer stopped answering, but not while paused (pongs could not be read)', async () => {
    const server = await startServer({ autoPong: false });
    try {
      const ws = await connectWebSocket(server.url, { handshakeTimeoutMs: 5_000 });
      let dead = false;
      const heartbeat = startHeartbeat(ws, 10, () => {
        dead = true;
      });
      heartbeat.pause();
      await sleep(100); // ten intervals: each is skipped while paused
      expect([dead, ws.readyState]).to.deep.equal([false, ws.OPEN]);
      const closed = new Promise<number>((resolve) => ws.once('close', resolve));
      heartbeat.resume();
      expect(await closed).to.equal(1006);
      expect(dead).to.equal(true);
    } finally {
      await server.close();
    }
  });
});
