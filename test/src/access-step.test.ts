import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { startTestServer } from './helpers/server.js';
import { md5Hex, RawStepSocket, sendJavaStyleData } from './helpers/step-raw-client.js';

const TOKENS = 'root:admin:admin-secret-0123456789,ci:uploader:uploader-secret-0123456789,viewer:reader:reader-secret-0123456789';

async function upload(server: SpoolServer, query: string, headers: Record<string, string> = {}) {
  const socket = new RawStepSocket(`${server.wsUrl}/ws/streaming/upload${query}`, { headers });
  await socket.opened();
  socket.sendJson({ '@': 'StartUpload', metadata: { filename: 'secret.log', mimeType: 'text/plain', supportsLineAccess: true } });
  return socket;
}

describe('Access control on the Step WebSocket paths', () => {
  let server: SpoolServer;
  before(async () => {
    server = await startTestServer({ authEnabled: true, apiTokens: TOKENS });
  });
  after(async () => {
    await server.close();
  });

  it('refuses an upload without a token, or with an unknown one, with 1008 and a clear reason', async () => {
    const none = await upload(server, '');
    const closed = await none.closed;
    expect(closed.code).to.equal(1008);
    expect(closed.reason).to.match(/access token is required/);
    const wrong = await upload(server, '?token=not-a-real-token');
    expect(await wrong.closed).to.deep.include({ code: 1008, reason: 'Unknown access token' });
  });

  it('refuses an unknown capability token as unknown (not as forbidden), echoing none of it', async () => {
    const forged = `spw_${'k'.repeat(43)}`;
    const socket = await upload(server, `?token=${forged}`);
    expect(await socket.closed).to.deep.equal({ code: 1008, reason: 'Unknown write token (its resource may have been deleted)' });
    const reader = new RawStepSocket(`${server.wsUrl}/ws/streaming/download/some-id?token=spr_${'k'.repeat(43)}`);
    expect(await reader.closed).to.deep.equal({ code: 1008, reason: 'Unknown read token (its resource may have been deleted)' });
  });

  it('refuses an upload by a reader token (403-like 1008)', async () => {
    const reader = await upload(server, '', { authorization: 'Bearer reader-secret-0123456789' });
    const closed = await reader.closed;
    expect(closed.code).to.equal(1008);
    expect(closed.reason).to.match(/"viewer" \(reader\) may not create/);
  });

  it('lets an uploader upload; the shared reference carries a read token that opens only that resource', async () => {
    const socket = await upload(server, '?token=uploader-secret-0123456789');
    const ready = await socket.text<{ reference: { uri: string } }>(1);
    const uri = ready.reference.uri;
    expect(uri).to.match(/\/ws\/streaming\/download\/[^?]+\?token=spr_/);
    const checksum = await sendJavaStyleData(socket, [Buffer.from('classified\n')]);
    socket.sendJson({ '@': 'FinishUpload', checksum });
    expect(await socket.text(2)).to.deep.include({ size: 11, checksum: md5Hex('classified\n') });

    const shared = new RawStepSocket(uri);
    expect(await shared.text(1)).to.deep.include({ '@': 'StatusChanged' });
    shared.sendJson({ '@': 'RequestChunk', startOffset: 0, endOffset: 11 });
    while (shared.binaries.length < 1) await new Promise((r) => setTimeout(r, 5));
    expect(shared.binaries[0]?.toString()).to.equal('classified\n');
    shared.ws.close();

    const bare = new RawStepSocket(uri.replace(/\?.*$/, ''));
    expect((await bare.closed).code).to.equal(1008);
    const readerToken = new URL(uri).searchParams.get('token') ?? '';

    // The same read token does not open another resource.
    const other = await upload(server, '?token=uploader-secret-0123456789');
    const otherUri = (await other.text<{ reference: { uri: string } }>(1)).reference.uri;
    const otherId = new URL(otherUri).pathname.split('/').pop() ?? '';
    const crossed = new RawStepSocket(`${server.wsUrl}/ws/streaming/download/${otherId}?token=${readerToken}`);
    const refused = await crossed.closed;
    expect(refused.code).to.equal(1008);
    expect(refused.reason).to.match(/^The read token #[0-9a-f]{8} does not allow read of resource/);
    expect(refused.reason).not.to.contain(readerToken);

    // A reader API token may read anything.
    const viewer = new RawStepSocket(`${server.wsUrl}/ws/streaming/download/${otherId}`, {
      headers: { authorization: 'Bearer reader-secret-0123456789' },
    });
    expect(await viewer.text(1)).to.deep.include({ '@': 'StatusChanged' });
    viewer.ws.close();
    other.ws.close();
  });
});
