/**
 * Server-wide limits of the WebSocket faces: an upload that goes quiet gives its slot back
 * (Step: FAILED; Spool: released, resumable), and unfinished text messages of all
 * connections together stay within `maxBufferedTextBytes`.
 */
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { startTestServer } from './helpers/server.js';
import { crc32, createRawUpload, RawSpoolSocket } from './helpers/spool-raw-client.js';
import { RawStepSocket, startRawUpload } from './helpers/step-raw-client.js';

const IDLE_MS = 300;

describe('WebSocket limits: idle uploads and unfinished text messages', function () {
  this.timeout(30_000);
  let server: SpoolServer;
  afterEach(async () => {
    await server.close();
  });

  it('Step: an upload silent for uploadIdleTimeoutMs is closed 1008 and FAILED with its bytes; its slot is free again', async () => {
    server = await startTestServer({ uploadIdleTimeoutMs: IDLE_MS, maxActiveUploads: 1 });
    const { socket, id } = await startRawUpload(server.wsUrl);
    await socket.fragment(Buffer.from('compiling...\n'), false); // the data message stays open: the client went quiet
    expect(await socket.closed).to.deep.equal({ code: 1008, reason: `Upload idle for ${IDLE_MS} ms` });
    expect(await server.core.getStatus(id)).to.include({ state: 'FAILED', size: 13, error: `Upload idle for ${IDLE_MS} ms` });
    const next = await startRawUpload(server.wsUrl);
    next.socket.ws.terminate();
  });

  it('Spool: an upload silent for uploadIdleTimeoutMs gets error TIMEOUT and close 1008, and stays resumable', async () => {
    server = await startTestServer({ uploadIdleTimeoutMs: IDLE_MS });
    const { socket, ready } = await createRawUpload(server.wsUrl);
    await socket.binary(Buffer.from('first part\n'));
    const error = await socket.message('error');
    expect(error).to.deep.equal({ type: 'error', code: 'TIMEOUT', message: `Upload idle for ${IDLE_MS} ms` });
    expect(await socket.closed).to.deep.equal({ code: 1008, reason: `TIMEOUT: Upload idle for ${IDLE_MS} ms` });
    expect(await server.core.getStatus(ready.id)).to.include({ state: 'IN_PROGRESS', size: 11 });

    const resumed = new RawSpoolSocket(`${server.wsUrl}/ws/spool/v1/upload`);
    await resumed.opened();
    resumed.sendJson({ type: 'resume', id: ready.id, offset: 11 });
    expect(await resumed.message('ready')).to.include({ id: ready.id, offset: 11 });
    await resumed.binary(Buffer.from('second part\n'));
    resumed.sendJson({ type: 'finish' });
    expect(await resumed.message('completed')).to.deep.include({ size: 23, checksums: { crc32: crc32('first part\nsecond part\n') } });
    resumed.ws.close(1000, 'Upload done');
  });

  it('one budget for both faces: a partial text message that would pass maxBufferedTextBytes is closed 1013', async () => {
    server = await startTestServer({ maxTextMessageBytes: 64 * 1024, maxBufferedTextBytes: 100 * 1024 });
    const step = new RawStepSocket(`${server.wsUrl}/ws/streaming/upload`);
    const spool = new RawSpoolSocket(`${server.wsUrl}/ws/spool/v1/upload`);
    await Promise.all([step.opened(), spool.opened()]);
    const fragment = (socket: RawStepSocket) =>
      new Promise<void>((resolve, reject) =>
        socket.ws.send('x'.repeat(60 * 1024), { binary: false, fin: false }, (err) => (err ? reject(err) : resolve())),
      );
    await fragment(step); // 60 KiB held for the Step connection's unfinished message
    await new Promise((resolve) => setTimeout(resolve, 100));
    await fragment(spool); // 120 KiB would be held: refused
    const closed = await spool.closed;
    expect(closed.code).to.equal(1013);
    expect(closed.reason).to.match(/try again later/);
    expect(step.ws.readyState).to.equal(step.ws.OPEN);
    step.ws.terminate();
  });
});
