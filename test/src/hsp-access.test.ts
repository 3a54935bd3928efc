/**
 * HSP with access control on: the `auth` header carries the credential; a new stream gets
 * the resource's capability tokens; resuming by key needs write access to that resource,
 * so a key alone — or another resource's write token — lets nobody append to a stream.
 */
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { RawHspSocket } from './helpers/hsp-raw-client.js';
import { request } from './helpers/http-client.js';
import { startTestServer } from './helpers/server.js';

const UPLOADER = 'uploader-token-0123456789abcd';
const READER = 'reader-token-0123456789abcdef';

describe('HSP access control: stream keys and capability tokens', () => {
  let server: SpoolServer;
  let hsp: RawHspSocket;
  before(async () => {
    server = await startTestServer({ authEnabled: true, apiTokens: `ci:uploader:${UPLOADER},dash:reader:${READER}` });
    hsp = await RawHspSocket.open(server.host.tcpPorts.hsp as number);
  });
  after(async () => {
    hsp.destroy();
    await server.close();
  });

  /** Starts a stream of `total` bytes and sends `first` of them, then leaves it (the connection cut): resumable. */
  async function leftStream(total: number, first: string) {
    const client = await RawHspSocket.open(server.host.tcpPorts.hsp as number);
    const step2 = await client.request({
      route: '/upload',
      'data-format': 'text:utf-8',
      'x-stream': `${total}:64`,
      auth: `Bearer ${UPLOADER}`,
    });
    await client.write(first);
    const key = step2.headers['x-stream-key'] as string;
    const deadline = Date.now() + 5_000;
    while ((await server.core.getStatus(key)).size < first.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    client.destroy();
    while (server.core.activeUpload(key) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return step2.headers;
  }

  it('gives a new stream its capability tokens, and a shareable x-resource carrying the read token', async () => {
    const headers = await leftStream(12, 'hello ');
    expect(headers['x-write-token']).to.match(/^spw_/);
    expect(headers['x-read-token']).to.match(/^spr_/);
    expect(headers['x-resource']).to.include(`?token=${encodeURIComponent(headers['x-read-token'] as string)}`);
    expect((await request(headers['x-resource'] as string)).body.toString()).to.equal('hello ');
    const status = await hsp.request({
      route: '/status',
      'x-resource-id': headers['x-stream-key'] as string,
      auth: headers['x-read-token'] as string,
    });
    expect(status.status).to.equal(0);
  });

  it('refuses a resume by key without write access to that resource: anonymous 49, a reader or another resource’s write token 50', async () => {
    const mine = await leftStream(12, 'hello ');
    const theirs = await leftStream(12, 'other ');
    const resume = (auth?: string) =>
      hsp.request({ route: '/upload', 'x-stream': '12:64', 'x-stream-key': mine['x-stream-key'] as string, ...(auth ? { auth } : {}) });
    const anonymous = await resume();
    expect(anonymous.status).to.equal(49);
    expect(anonymous.headers['x-stream']).to.equal('-1:0');
    expect((await resume(READER)).status).to.equal(50);
    expect((await resume(theirs['x-write-token'])).status).to.equal(50);
    expect((await resume(mine['x-read-token'])).status).to.equal(50);
    // The resource's own write token resumes it.
    const resumed = await resume(mine['x-write-token']);
    expect(resumed.headers).to.deep.include({ status: '1', 'x-stream-offset': '6' });
    await hsp.write('world!');
    expect((await hsp.answer(hsp.answers.length, 5_000))?.status).to.equal(0);
    expect((await server.core.getStatus(mine['x-stream-key'] as string)).state).to.equal('COMPLETED');
  });
});
