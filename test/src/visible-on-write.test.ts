/**
 * Visible on write, durable on checkpoint (issue 16), over real sockets: with no
 * checkpoint in sight, bytes written are at once in the status, the content and the line
 * pages; the uploader's `durable` ack waits for a checkpoint; and after `kill -9` the
 * restarted server shows at least what any reader saw — never a smaller size.
 */
import { expect } from 'chai';
import { exited, freePort, killedAfterEach, startCli } from './helpers/cli-process.js';
import { eventually, getJson, logLines, request } from './helpers/http-client.js';
import { freshDataDir } from './helpers/server.js';
import { createRawUpload } from './helpers/spool-raw-client.js';

interface ResourceJson {
  state: string;
  size: number;
  lines: number | null;
}

describe('Visible on write, durable on checkpoint', function () {
  this.timeout(60_000);
  const server = killedAfterEach();

  it('shows written bytes before any checkpoint; after kill -9 no reader sees a size go backwards', async () => {
    const port = await freePort();
    // A checkpoint an hour away: only writes can make bytes visible here.
    const env = { SPOOL_DATA_DIR: freshDataDir(), SPOOL_PORT: String(port), SPOOL_CHECKPOINT_INTERVAL_MS: '3600000' };
    server.running = await startCli(env);
    const first = server.running;
    const { socket, ready } = await createRawUpload(first.wsUrl);
    const api = `${first.url}/api/v1/resources/${ready.id}`;
    const text = logLines(600); // past two line-index strides
    await socket.binary(Buffer.from(text));
    const seen = await eventually(async () => {
      const status = await getJson<ResourceJson>(api);
      return status.size === Buffer.byteLength(text) ? status : undefined;
    });
    expect(seen).to.include({ state: 'IN_PROGRESS', lines: 600 });
    expect((await request(`${api}/content`)).text()).to.equal(text);
    const page = await getJson<{ lines: string[] }>(`${api}/lines?start=520&count=2`);
    expect(page.lines).to.deep.equal(logLines(2, 520).split('\n').slice(0, 2));
    expect(
      socket.sequence.some((m) => !Buffer.isBuffer(m) && m.type === 'durable'),
      'no durable ack before a checkpoint',
    ).to.equal(false);

    first.child.kill('SIGKILL');
    await exited(first.child);
    server.running = await startCli(env);
    const after = await getJson<ResourceJson>(`${server.running.url}/api/v1/resources/${ready.id}`);
    // Resumable (Spool protocol): IN_PROGRESS, with every byte written and its lines recounted.
    expect(after).to.include({ state: 'IN_PROGRESS', size: seen.size, lines: 600 });
    expect((await request(`${server.running.url}/api/v1/resources/${ready.id}/content`)).text()).to.equal(text);
    const recovered = await getJson<{ lines: string[] }>(`${server.running.url}/api/v1/resources/${ready.id}/lines?start=520&count=2`);
    expect(recovered.lines).to.deep.equal(page.lines);
  });
});
