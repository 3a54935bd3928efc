/**
 * Resumable uploads and reconnecting followers over Spool's protocol, through a proxy
 * that cuts connections at random points: whatever is cut, the stored bytes and the bytes
 * a live follower received equal the source's, every byte exactly once.
 */
import { createDownloadClient, createUploadClient, type SpoolRemoteResource, type SpoolUploadResult } from '@spool/impl-websocket';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { CuttingProxy } from './helpers/cutting-proxy.js';
import { digestStream, GeneratedSource, MIB } from './helpers/generated-source.js';
import { startTestServer } from './helpers/server.js';

const FAST_RECONNECT = { initialDelayMs: 20, maxDelayMs: 500, maxAttempts: 20 };

describe('Spool protocol: resume through a connection-cutting proxy', function () {
  this.timeout(120_000);
  let server: SpoolServer;
  const proxies: CuttingProxy[] = [];
  beforeEach(async () => {
    server = await startTestServer();
  });
  afterEach(async () => {
    for (const proxy of proxies.splice(0)) await proxy.close();
    await server.close();
  });

  it('200 MB upload and a live follower, both cut at random points: SHA-256 equal, every byte exactly once', async () => {
    const size = 200 * MIB;
    const uploadProxy = await CuttingProxy.start({
      targetPort: server.port,
      seed: 20240611,
      maxCuts: 6,
      minBytes: 4 * MIB,
      maxBytes: 40 * MIB,
    });
    const followProxy = await CuttingProxy.start({ targetPort: server.port, seed: 77, maxCuts: 6, minBytes: 4 * MIB, maxBytes: 40 * MIB });
    proxies.push(uploadProxy, followProxy);
    const source = new GeneratedSource(size, 42);

    const uploads = createUploadClient(uploadProxy.wsUrl, { verifyMd5: false, sha256: true, reconnect: FAST_RECONNECT });
    const upload = await uploads.upload(source, { filename: 'big.bin' });
    // The follower reaches the server through its own cutting proxy.
    const follower = (await createDownloadClient({ reconnect: FAST_RECONNECT }).open(
      `${followProxy.wsUrl}/ws/spool/v1/resources/${upload.reference.id}`,
    )) as SpoolRemoteResource;
    const following = digestStream(follower.follow());

    const result: SpoolUploadResult = await upload.complete();
    const followed = await following;

    expect(result.size).to.equal(size);
    expect(result.sha256).to.equal(source.sha256);
    expect(uploadProxy.cuts).to.be.greaterThan(0);
    expect(result.reconnects).to.be.within(1, uploadProxy.cuts); // a cut after the last byte needs no resume
    expect(followed).to.deep.equal({ sha256: source.sha256, size });
    expect(followProxy.cuts).to.be.greaterThan(0);
    expect(follower.reconnects).to.be.within(1, followProxy.cuts);
    await follower.close();

    // What the server stored, read directly.
    const stored = await createDownloadClient().open(upload.reference);
    expect(stored.status).to.include({ state: 'COMPLETED', size });
    expect(stored.status.checksums).to.deep.equal(result.checksums);
    expect(await digestStream(stored.createReadStream())).to.deep.equal({ sha256: source.sha256, size });
    await stored.close();
  });

  it('with access control on: the SDK resumes with the write token it was given', async () => {
    await server.close();
    server = await startTestServer({ authEnabled: true, apiTokens: 'ci:uploader:uploader-secret-0123456789' });
    const proxy = await CuttingProxy.start({ targetPort: server.port, seed: 5, maxCuts: 2, minBytes: 1 * MIB, maxBytes: 3 * MIB });
    proxies.push(proxy);
    const source = new GeneratedSource(12 * MIB, 9);
    const upload = await createUploadClient(proxy.wsUrl, {
      headers: { authorization: 'Bearer uploader-secret-0123456789' },
      reconnect: FAST_RECONNECT,
      sha256: true,
    }).upload(source, { filename: 'secret.bin' });
    expect(upload.reference.writeToken).to.match(/^spw_/);
    expect(upload.reference.uri).to.match(/\/ws\/streaming\/download\/[^?]+\?token=spr_/);
    const result = await upload.complete();
    expect(proxy.cuts).to.equal(2);
    expect(result.reconnects).to.equal(2);
    expect(result.sha256).to.equal(source.sha256);
    // The reference alone (it carries the read token) reads the resource.
    const reader = await createDownloadClient().open(upload.reference);
    expect(await digestStream(reader.follow())).to.deep.equal({ sha256: source.sha256, size: 12 * MIB });
    await reader.close();
  });
});
