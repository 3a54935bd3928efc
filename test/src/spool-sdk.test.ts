/**
 * The SDK's factories speak Spool's own protocol by default, with the Step protocol
 * still selectable; references from either work with both download clients.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Crc32 } from '@spool/common';
import {
  createDownloadClient,
  createUploadClient,
  ErrorCode,
  SpoolDownloadClient,
  type SpoolError,
  SpoolRemoteResource,
  SpoolUploadClient,
  StepDownloadClient,
  StepUploadClient,
} from '@spool/impl-websocket';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { digestStream } from './helpers/generated-source.js';
import { startTestServer } from './helpers/server.js';

const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');
const crc32 = (data: Buffer) => new Crc32().update(data).hex();
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('SDK protocol selection (Spool by default, Step selectable)', () => {
  let server: SpoolServer;
  beforeEach(async () => {
    server = await startTestServer();
  });
  afterEach(async () => {
    await server.close();
  });

  it('the factories make Spool clients by default and Step clients on request', () => {
    expect(createUploadClient(server.url)).to.be.instanceOf(SpoolUploadClient);
    expect(createUploadClient(server.url, { protocol: 'spool' })).to.be.instanceOf(SpoolUploadClient);
    expect(createUploadClient(server.url, { protocol: 'step' })).to.be.instanceOf(StepUploadClient);
    expect(createDownloadClient()).to.be.instanceOf(SpoolDownloadClient);
    expect(createDownloadClient({ protocol: 'step' })).to.be.instanceOf(StepDownloadClient);
    expect(createUploadClient(server.url).url.pathname).to.equal('/ws/spool/v1/upload');
  });

  it('a default upload goes over the Spool path (resumable resource); both download clients read it', async () => {
    const content = Buffer.from(Array.from({ length: 3000 }, (_, i) => `${i} spool\n`).join(''));
    const upload = await createUploadClient(server.url, { sha256: true }).upload(content, {
      filename: 'default.log',
      mimeType: 'text/plain',
    });
    expect((await server.core.getRecord(upload.reference.id)).resumable).to.equal(true);
    expect(upload.reference.uri).to.equal(`${server.wsUrl}/ws/streaming/download/${upload.reference.id}`);
    expect(upload.reference.spoolUri).to.equal(`${server.wsUrl}/ws/spool/v1/resources/${upload.reference.id}`);
    expect(upload.reference.httpUri).to.equal(`${server.url}/api/v1/resources/${upload.reference.id}/content`);
    const result = await upload.complete();
    // CRC-32 by default, verified end to end: no MD5 (checksum '' as before checksums).
    expect(result).to.include({
      size: content.length,
      checksum: '',
      sha256: sha256(content),
      lines: 3000,
      reconnects: 0,
    });
    expect(result.checksums).to.deep.equal({ crc32: crc32(content) });

    const spool = await createDownloadClient().open(upload.reference);
    expect(spool).to.be.instanceOf(SpoolRemoteResource);
    expect((await spool.readRange(0, content.length)).equals(content)).to.equal(true);
    expect(await spool.readLines(2998, 5)).to.deep.equal(['2998 spool', '2999 spool']);
    await spool.close();
    const step = await createDownloadClient({ protocol: 'step' }).open(upload.reference);
    expect((await step.readRange(0, content.length)).equals(content)).to.equal(true);
    await step.close();
    const bySpoolUri = await createDownloadClient().open(upload.reference.spoolUri);
    expect(bySpoolUri.status).to.include({ state: 'COMPLETED', size: content.length });
    expect(bySpoolUri.status.checksums).to.deep.equal({ crc32: crc32(content) });
    await bySpoolUri.close();
  });

  it('an MD5 is asked for with checksums or verifyMd5; verifyChecksum: false leaves CRC-32 to the server', async () => {
    const content = Buffer.alloc(300_000, 7);
    const asked = await (await createUploadClient(server.url, { checksums: ['md5'] }).upload(content, { filename: 'x.bin' })).complete();
    expect(asked).to.include({ size: content.length, checksum: md5(content) });
    expect(asked.checksums).to.deep.equal({ crc32: crc32(content), md5: md5(content) });
    expect(asked).not.to.have.property('sha256');
    const verified = await (await createUploadClient(server.url, { verifyMd5: true }).upload(content, { filename: 'y.bin' })).complete();
    expect(verified.checksums).to.deep.equal({ crc32: crc32(content), md5: md5(content) });
    const unverified = await (
      await createUploadClient(server.url, { verifyChecksum: false, checksums: ['sha256'] }).upload(content, { filename: 'z.bin' })
    ).complete();
    expect(unverified.checksums).to.deep.equal({ sha256: sha256(content) });
  });

  it('protocol "step" uploads over the Step path (not resumable); the default client follows it by push', async () => {
    const upload = await createUploadClient(server.url, { protocol: 'step' }).upload(
      (async function* () {
        for (let i = 0; i < 50; i++) {
          yield Buffer.from(`step line ${i}\n`);
          if (i % 10 === 0) await sleep(5);
        }
      })(),
      { filename: 'step.log', mimeType: 'text/plain' },
    );
    expect((await server.core.getRecord(upload.reference.id)).resumable).to.equal(false);
    const follower = await createDownloadClient().open(upload.reference);
    const lines: string[] = [];
    const tailing = (async () => {
      for await (const line of follower.followLines()) lines.push(line);
    })();
    const result = await upload.complete();
    await tailing;
    expect(lines).to.deep.equal(Array.from({ length: 50 }, (_, i) => `step line ${i}`));
    expect(result.lines).to.equal(50);
    await follower.close();
  });

  it('two followers of one resource: the second gets a connection of its own; a follow from the end ends at once', async () => {
    const first = Buffer.alloc(2 * 1024 * 1024, 1);
    const upload = await createUploadClient(server.url).upload(
      (async function* () {
        yield first;
        await sleep(50);
        yield Buffer.alloc(1024, 2);
      })(),
      { filename: 'two.bin' },
    );
    const resource = await createDownloadClient().open(upload.reference);
    const a = digestStream(resource.follow());
    const b = digestStream(resource.follow({ fromOffset: 1000 }));
    const result = await upload.complete();
    const whole = Buffer.concat([first, Buffer.alloc(1024, 2)]);
    expect(await a).to.deep.equal({ sha256: sha256(whole), size: result.size });
    expect(await b).to.deep.equal({ sha256: sha256(whole.subarray(1000)), size: result.size - 1000 });
    const never = resource.follow({ fromOffset: result.size }); // at the end: ends at once
    expect(await digestStream(never)).to.deep.equal({ sha256: sha256(Buffer.alloc(0)), size: 0 });
    await resource.close();
  });

  it('a failing source aborts the upload: complete() rejects, the resource is FAILED with the bytes sent', async () => {
    const upload = await createUploadClient(server.url).upload(
      (async function* () {
        yield Buffer.from('kept\n');
        await sleep(30);
        throw new Error('disk on fire');
      })(),
      { filename: 'broken.log', mimeType: 'text/plain' },
    );
    const error = (await upload.complete().catch((e: unknown) => e)) as SpoolError;
    expect(error.code).to.equal(ErrorCode.UPLOAD_ABORTED);
    expect(error.message).to.match(/disk on fire/);
    const status = await server.core.getStatus(upload.reference.id);
    expect(status).to.include({ state: 'FAILED', size: 5 });
    expect(status.error).to.match(/disk on fire/);
  });
});
