/**
 * The rendezvous SDK (`RendezvousClient` in @spool/impl-http) against a real server: both
 * styles, files and streams, typed errors, and a cut-short sender seen as an error.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ErrorCode } from '@spool/common';
import { RendezvousClient, RendezvousError } from '@spool/impl-http';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { eventually, streamingRequest } from './helpers/http-client.js';
import { startTestServer } from './helpers/server.js';

const TOKEN = 'admin-token-0123456789abcdef';

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

describe('Rendezvous SDK (RendezvousClient)', function () {
  this.timeout(30_000);
  let server: SpoolServer;
  let client: RendezvousClient;
  const dir = mkdtempSync(path.join(tmpdir(), 'spool-rendezvous-sdk-'));
  before(async () => {
    server = await startTestServer({ rendezvousWaitMs: 800, authEnabled: true, apiTokens: `ops:admin:${TOKEN}` });
    client = new RendezvousClient({ url: server.url, token: TOKEN });
  });
  after(() => server.close());

  it('sends a file to a file through an http-rendezvous stream, with the requested headers', async () => {
    const source = path.join(dir, 'in.bin');
    const target = path.join(dir, 'out.bin');
    const data = randomBytes(2 * 1024 * 1024 + 5);
    writeFileSync(source, data);
    const id = await client.createStream({ downloadHeaders: { 'Content-Type': 'application/x-test' }, uploadHeaders: { 'X-Done': 'yes' } });
    const [uploaded] = await Promise.all([client.sendFile(id, source), client.receiveToFile(id, target)]);
    expect(uploaded['x-done']).to.equal('yes');
    expect(readFileSync(target).equals(data)).to.equal(true);
    expect(await client.status(id)).to.include({ id, state: 'FINISHED', bytes_transferred: data.length });
    expect((await client.list()).map((s) => s.id)).to.include(id);
  });

  it('streams through a pipe by path to n=2 receivers, and returns the progress lines', async () => {
    const data = randomBytes(512 * 1024);
    const receivers = [client.pipeReceive('sdk/two', { n: 2 }), client.pipeReceive('sdk/two', { n: 2 })];
    await new Promise((r) => setTimeout(r, 50));
    const lines = await client.pipeSend('sdk/two', Readable.from([data.subarray(0, 1000), data.subarray(1000)]), {
      n: 2,
      contentType: 'application/x-bin',
    });
    expect(lines).to.include('[INFO] Sent successfully!');
    for (const response of await Promise.all(receivers)) {
      expect(response.headers['content-type']).to.equal('application/x-bin');
      expect((await collect(response)).equals(data)).to.equal(true);
    }
  });

  it('gives typed errors: the timeout, a reported error, a busy side, a pipe refusal', async () => {
    const id = await client.createStream();
    const err = await client.receive(id).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(RendezvousError);
    expect(err).to.include({ status: 504, errorName: 'SessionTimeoutError', code: ErrorCode.TIMEOUT });

    const reported = await client.createStream();
    await client.reportError(reported, { httpStatus: 404, name: 'FileNotFoundError', message: 'no such file' });
    const got = await client.send(reported, 'x').catch((e: unknown) => e);
    expect(got).to.include({ status: 404, errorName: 'FileNotFoundError', message: 'no such file' });

    const missing = await client.status('nope').catch((e: unknown) => e);
    expect(missing).to.include({ status: 404, errorName: 'SessionNotFoundError', code: ErrorCode.RESOURCE_NOT_FOUND });

    const refused = await client.pipeSend('sdk/zero', 'x', { n: 0 }).catch((e: unknown) => e);
    expect(refused).to.include({ status: 400, code: ErrorCode.INVALID_MESSAGE, message: 'n should > 0, but n = 0.' });

    const anonymous = await new RendezvousClient({ url: server.url }).createStream().catch((e: unknown) => e);
    expect(anonymous).to.include({ status: 401, code: ErrorCode.UNAUTHORIZED });
  });

  it('rejects a receive to a file when the sender stops short (no silent truncation)', async () => {
    const id = await client.createStream();
    const target = path.join(dir, 'cut.bin');
    const receiving = client.receiveToFile(id, target);
    const put = streamingRequest(`${server.url}/stream/${id}`, {
      method: 'PUT',
      headers: { 'Transfer-Encoding': 'chunked', Authorization: `Bearer ${TOKEN}` },
    });
    await put.write(Buffer.alloc(100_000, 1));
    await eventually(async () => ((await client.status(id)).bytes_transferred > 0 ? true : undefined));
    put.abort();
    const err = await receiving.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, 'the cut-short receive must fail').to.be.instanceOf(Error);
  });
});
