/**
 * `kill -9` of the server in the middle of an HSP stream, then a restart on the same
 * ports and data directory: the stream stayed resumable (created resumable, within the
 * resume grace), the SDK resumes by key from the durable offset the restarted server
 * reports, and the stored bytes equal the source's exactly.
 */
import { createHash } from 'node:crypto';
import { HspClient } from '@spool/impl-hsp';
import { expect } from 'chai';
import { type CliServer, exited, freePort, killedAfterEach, RESTART_RECONNECT, startCli } from './helpers/cli-process.js';
import { GeneratedSource, MIB } from './helpers/generated-source.js';
import { request } from './helpers/http-client.js';
import { freshDataDir } from './helpers/server.js';

describe('HSP: server killed (kill -9) mid-stream and restarted', function () {
  this.timeout(90_000);
  const server = killedAfterEach();

  it('the SDK resumes by key from the durable offset and completes; the stored SHA-256 equals the source’s', async () => {
    const env = {
      SPOOL_DATA_DIR: freshDataDir(),
      SPOOL_PORT: String(await freePort()),
      SPOOL_HSP_PORT: String(await freePort()),
      SPOOL_CHECKPOINT_INTERVAL_MS: '20',
    };
    server.running = await startCli(env);
    const first = server.running;
    expect(first.tcpPorts.hsp).to.equal(Number(env.SPOOL_HSP_PORT));
    let restarted: Promise<CliServer> | undefined;
    let key: string | undefined;
    const size = 96 * MIB;
    const source = new GeneratedSource(size, 4321, async (index) => {
      // A third of the way, once the stream is under way: the server dies without warning, and comes back.
      if (index !== 32) return;
      first.child.kill('SIGKILL');
      restarted = exited(first.child).then(() => startCli(env));
    });

    const result = await new HspClient({ port: Number(env.SPOOL_HSP_PORT) }).upload(source, {
      size,
      filename: 'crash.bin',
      reconnect: RESTART_RECONNECT,
      onReady: (ready) => {
        key = ready.key;
      },
    });
    server.running = await (restarted as Promise<CliServer>);
    expect(result.key).to.equal(key);
    expect(result.size).to.equal(size);
    expect(result.resumes).to.be.greaterThan(0);
    expect(server.running.stderr()).to.match(/interrupted upload may be resumed/);

    const stored = await request(`${server.running.url}/api/v1/resources/${result.key}/content`, { timeoutMs: 30_000 });
    expect(stored.body.length).to.equal(size);
    expect(createHash('sha256').update(stored.body).digest('hex')).to.equal(source.sha256);
    expect((await request(`${server.running.url}/api/v1/resources/${result.key}`)).json()).to.include({ state: 'COMPLETED', size });
  });
});
