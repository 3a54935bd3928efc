/**
 * Status without bytes is spaced while an upload keeps changing it (issue 16, ingest
 * first), over real sockets: a Spool watcher and a Step download connection hear at most
 * one status per tick (100 ms) during a burst of writes, then the newest one, and the end
 * at once; a follower at the tail still gets every write's bytes as they come, and so
 * does a Step reader waiting at the tail (its status is how it learns of them).
 */

import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { startTestServer } from './helpers/server.js';
import { createRawUpload, RawSpoolSocket } from './helpers/spool-raw-client.js';
import { RawStepSocket } from './helpers/step-raw-client.js';

const WRITES = 40;
const WRITE_GAP_MS = 5;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Arrival times (ms) of the messages `pick` selects, from now on. */
function arrivals(socket: RawStepSocket, pick: (data: Buffer, isBinary: boolean) => boolean): number[] {
  const times: number[] = [];
  socket.ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (pick(data, isBinary)) times.push(performance.now());
  });
  return times;
}

describe('Status spacing: a status without bytes at most once a tick while the upload keeps writing', function () {
  this.timeout(30_000);
  let server: SpoolServer;
  const sockets: RawStepSocket[] = [];

  beforeEach(async () => {
    // No checkpoint during the test: every status comes from a write (visible on write).
    server = await startTestServer({ checkpointIntervalMs: 60_000 });
  });
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.ws.terminate();
    await server.close();
  });

  it('spaces statuses to a Spool watcher and a Step reader; a tail follower gets each write at once; the end comes at once', async () => {
    const { socket: upload, ready } = await createRawUpload(server.wsUrl);
    sockets.push(upload);
    const watcher = new RawSpoolSocket(`${server.wsUrl}/ws/spool/v1/resources/${ready.id}`);
    const follower = new RawSpoolSocket(`${server.wsUrl}/ws/spool/v1/resources/${ready.id}`);
    const step = new RawStepSocket(`${server.wsUrl}/ws/streaming/download/${ready.id}`);
    sockets.push(watcher, follower, step);
    await Promise.all([watcher.opened(), follower.opened(), step.opened()]);
    await watcher.message('status');
    follower.sendJson({ type: 'follow', from: 0 });
    await follower.message('status');
    await step.waitFor((m) => m['@'] === 'StatusChanged');

    const isText = (data: Buffer, isBinary: boolean) => !isBinary && data.toString().includes('"status"');
    const watcherStatuses = arrivals(watcher, isText);
    const stepStatuses = arrivals(step, (data, isBinary) => !isBinary && data.toString().includes('StatusChanged'));
    const pushes = arrivals(follower, (_data, isBinary) => isBinary);

    const started = performance.now();
    for (let i = 0; i < WRITES; i++) {
      await upload.binary(Buffer.from(`line ${i}\n`));
      await sleep(WRITE_GAP_MS);
    }
    const burstMs = performance.now() - started;
    const size = Array.from({ length: WRITES }, (_, i) => `line ${i}\n`.length).reduce((a, b) => a + b, 0);

    // The newest status reaches the watcher within a tick or two of the last write.
    await watcher.waitFor((m) => m.type === 'status' && m.size === size, 2_000);
    await step.waitFor((m) => m['@'] === 'StatusChanged' && (m.resourceStatus as { currentSize: number }).currentSize === size, 2_000);
    // At most one per tick during the burst (plus the one the burst starts with and the last).
    const ticks = Math.ceil(burstMs / 100);
    expect(watcherStatuses.length, `${watcherStatuses.length} statuses in ${burstMs.toFixed(0)} ms`).to.be.at.most(ticks + 2);
    expect(stepStatuses.length, `${stepStatuses.length} StatusChanged in ${burstMs.toFixed(0)} ms`).to.be.at.most(ticks + 2);
    expect(watcherStatuses.length).to.be.below(WRITES / 2);
    // The follower at the tail is not spaced: its bytes come write by write, not a tick's worth at a time.
    expect(pushes.length, `${pushes.length} pushes for ${WRITES} writes`).to.be.above(WRITES / 2);

    const finished = performance.now();
    upload.sendJson({ type: 'finish' });
    await upload.message('completed');
    await watcher.waitFor((m) => m.type === 'status' && m.state === 'COMPLETED', 2_000);
    await step.waitFor(
      (m) => m['@'] === 'StatusChanged' && (m.resourceStatus as { transferStatus: string }).transferStatus === 'COMPLETED',
      2_000,
    );
    // The end is never held for a tick (the last status before it may have gone just now).
    expect(performance.now() - finished).to.be.below(1_000);
  });

  it('sends a Step reader waiting at the tail each status at once: it asks for the new bytes write by write', async () => {
    const { socket: upload, ready } = await createRawUpload(server.wsUrl);
    const step = new RawStepSocket(`${server.wsUrl}/ws/streaming/download/${ready.id}`);
    sockets.push(upload, step);
    await step.opened();
    await step.waitFor((m) => m['@'] === 'StatusChanged');
    // As the Java download stream follows: on each status, ask for the bytes it adds.
    let readTo = 0;
    const statuses = arrivals(step, (data, isBinary) => !isBinary && data.toString().includes('StatusChanged'));
    step.ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      const message = JSON.parse(data.toString()) as { '@': string; resourceStatus?: { currentSize: number } };
      const size = message.resourceStatus?.currentSize ?? 0;
      if (message['@'] !== 'StatusChanged' || size <= readTo) return;
      step.sendJson({ '@': 'RequestChunk', startOffset: readTo, endOffset: size });
      readTo = size;
    });

    const started = performance.now();
    for (let i = 0; i < WRITES; i++) {
      await upload.binary(Buffer.from(`line ${i}\n`));
      await sleep(WRITE_GAP_MS);
    }
    const burstMs = performance.now() - started;
    const content = Array.from({ length: WRITES }, (_, i) => `line ${i}\n`).join('');
    await step.waitFor(
      (m) => m['@'] === 'StatusChanged' && (m.resourceStatus as { currentSize: number }).currentSize === content.length,
      2_000,
    );
    // Spaced, it would have had at most one a tick (about burstMs / 100 of them).
    expect(statuses.length, `${statuses.length} StatusChanged for ${WRITES} writes in ${burstMs.toFixed(0)} ms`).to.be.above(WRITES / 2);
    for (let waited = 0; Buffer.concat(step.binaries).length < content.length && waited < 2_000; waited += 20) await sleep(20);
    expect(Buffer.concat(step.binaries).toString()).to.equal(content);
  });
});
