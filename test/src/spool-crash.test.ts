/**
 * `kill -9` of the server process in the middle of an upload, then a restart on the same
 * port and data directory: the resource stayed resumable, the SDK uploader and a live
 * follower reconnect by themselves, and nothing is missing or repeated.
 */
import { createDownloadClient, createUploadClient, type SpoolRemoteResource } from '@spool/impl-websocket';
import { expect } from 'chai';
import { type CliServer, exited, freePort, killedAfterEach, RESTART_RECONNECT, startCli } from './helpers/cli-process.js';
import { digestStream, GeneratedSource, MIB } from './helpers/generated-source.js';
import { freshDataDir } from './helpers/server.js';

describe('Spool protocol: server killed (kill -9) mid-upload and restarted', function () {
  this.timeout(90_000);
  const server = killedAfterEach();

  it('the SDK resumes by itself and completes; stored and followed SHA-256 equal the source', async () => {
    const port = await freePort();
    const env = { SPOOL_DATA_DIR: freshDataDir(), SPOOL_PORT: String(port), SPOOL_CHECKPOINT_INTERVAL_MS: '20' };
    server.running = await startCli(env);
    const first = server.running;
    let restarted: Promise<CliServer> | undefined;
    let followerAttached: () => void = () => undefined;
    const followerReady = new Promise<void>((resolve) => {
      followerAttached = resolve;
    });
    const size = 96 * MIB;
    const source = new GeneratedSource(size, 1234, async (index) => {
      // A third of the way (once the follower is in): the server dies without warning, and comes back.
      if (index !== 32) return;
      await followerReady;
      first.child.kill('SIGKILL');
      restarted = exited(first.child).then(() => startCli(env));
    });

    const upload = await createUploadClient(first.wsUrl, { sha256: true, reconnect: RESTART_RECONNECT }).upload(source, {
      filename: 'crash.bin',
    });
    const follower = (await createDownloadClient({ reconnect: RESTART_RECONNECT }).open(upload.reference)) as SpoolRemoteResource;
    const following = digestStream(follower.follow());
    followerAttached();

    const result = await upload.complete();
    server.running = await (restarted as Promise<CliServer>);
    expect(result.size).to.equal(size);
    expect(result.sha256).to.equal(source.sha256);
    expect(result.reconnects).to.be.greaterThan(0);
    expect(await following).to.deep.equal({ sha256: source.sha256, size });
    expect(follower.reconnects).to.be.greaterThan(0);
    await follower.close();
    expect(server.running.stderr()).to.match(/interrupted upload may be resumed/);

    const stored = await createDownloadClient().open(upload.reference);
    expect(stored.status).to.include({ state: 'COMPLETED', size });
    expect(stored.status.checksums).to.deep.equal(result.checksums);
    expect(await digestStream(stored.createReadStream())).to.deep.equal({ sha256: source.sha256, size });
    await stored.close();
  });
});
