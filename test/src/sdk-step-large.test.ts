import { createHash } from 'node:crypto';
import { StepUploadClient } from '@spool/impl-websocket';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { startTestServer } from './helpers/server.js';

describe('Step SDK: a large upload under hash back-pressure', function () {
  this.timeout(90_000);
  let server: SpoolServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });

  it('uploads 256 MiB (far more than the hash ring holds) to completion with the right MD5', async () => {
    // Regression: a hash 'drain' that fired while a frame was being sent was waited for in vain.
    const md5 = createHash('md5');
    async function* source() {
      for (let i = 0; i < 256; i++) {
        const chunk = Buffer.alloc(1024 * 1024, i);
        md5.update(chunk);
        yield chunk;
      }
    }
    const upload = await new StepUploadClient({ url: server.wsUrl }).upload(source(), {
      filename: 'big.bin',
      mimeType: 'application/octet-stream',
    });
    const result = await upload.complete();
    expect(result).to.include({ size: 256 * 1024 * 1024, checksum: md5.digest('hex') });
    expect(await server.core.getStatus(upload.reference.id)).to.include({ state: 'COMPLETED', size: 256 * 1024 * 1024 });
  });
});
