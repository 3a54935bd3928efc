/**
 * HTTP API with access control on: the same rules as every protocol
 * (docs/access-control.md) — Bearer or ?token=, 401 / 403 with the JSON error body,
 * capability tokens returned on creation — and DELETE.
 */
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { request } from './helpers/http-client.js';
import { startTestServer } from './helpers/server.js';

const ADMIN = 'admin-token-0123456789abcdef';
const UPLOADER = 'uploader-token-0123456789abcd';
const READER = 'reader-token-0123456789abcdef';

interface Created {
  id: string;
  state: string;
  writeToken?: string;
  readToken?: string;
}
interface ErrorJson {
  error: { code: string; message: string };
}

/** Every 4-character piece of `token`'s secret (after its `spw_`/`spr_` prefix) that `text` contains. */
function secretFragmentsIn(text: string, token: string): string[] {
  const secret = token.slice(4);
  const found: string[] = [];
  for (let at = 0; at + 4 <= secret.length; at++) if (text.includes(secret.slice(at, at + 4))) found.push(secret.slice(at, at + 4));
  return found;
}

describe('HTTP API: access control', () => {
  let server: SpoolServer;
  before(async () => {
    server = await startTestServer({
      authEnabled: true,
      apiTokens: `ops:admin:${ADMIN},ci:uploader:${UPLOADER},dash:reader:${READER}`,
    });
  });
  after(() => server.close());

  const api = (p: string) => `${server.url}/api/v1${p}`;
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

  it('answers a request without a token with 401, WWW-Authenticate and the JSON error; an unknown token too', async () => {
    const none = await request(api('/resources?context=x'));
    expect(none.status).to.equal(401);
    expect(none.headers['www-authenticate']).to.equal('Bearer');
    expect(none.json<ErrorJson>().error.code).to.equal('UNAUTHORIZED');
    const unknown = await request(api('/resources?context=x'), { headers: bearer('not-a-known-token-at-all') });
    expect(unknown.status).to.equal(401);
    expect(unknown.json<ErrorJson>().error.message).to.equal('Unknown access token');
  });

  it('answers an unknown capability token with 401, and echoes no character of any token secret', async () => {
    const created = (await request(api('/uploads/known.log'), { method: 'PUT', body: 'x', headers: bearer(UPLOADER) })).json<Created>();
    const forgedWrite = `spw_${'Q'.repeat(43)}`;
    const forgedRead = `spr_${'Z'.repeat(43)}`;
    for (const [token, kind] of [
      [forgedWrite, 'write'],
      [forgedRead, 'read'],
    ] as const) {
      const res = await request(api(`/resources/${created.id}`), { method: 'DELETE', headers: bearer(token) });
      expect(res.status, token).to.equal(401);
      expect(res.json<ErrorJson>().error).to.deep.equal({
        code: 'UNAUTHORIZED',
        message: `Unknown ${kind} token (its resource may have been deleted)`,
      });
    }
    // A known one that does not allow the operation: named by kind and hash prefix, no secret.
    const refused = await request(api(`/resources/${created.id}`), { method: 'DELETE', headers: bearer(created.readToken ?? '') });
    expect(refused.status).to.equal(403);
    const message = refused.json<ErrorJson>().error.message;
    expect(message).to.match(/^The read token #[0-9a-f]{8} does not allow delete of resource /);
    expect(secretFragmentsIn(message, created.readToken ?? '')).to.deep.equal([]);
  });

  it('refuses an upload before reading its body: 401 without a token, 403 for a reader', async () => {
    const anonymous = await request(api('/uploads/x.log'), { method: 'PUT', body: 'data' });
    expect(anonymous.status).to.equal(401);
    const reader = await request(api('/uploads/x.log'), { method: 'PUT', body: 'data', headers: bearer(READER) });
    expect(reader.status).to.equal(403);
    expect(reader.json<ErrorJson>().error.code).to.equal('FORBIDDEN');
    expect(await server.core.list({ filenamePrefix: 'x.log' })).to.have.length(0);
  });

  it('returns write and read capability tokens on creation; they allow exactly their resource', async () => {
    const created = await request(api('/resources?filename=cap.log'), { method: 'POST', headers: bearer(UPLOADER) });
    expect(created.status).to.equal(201);
    const { id, writeToken, readToken } = created.json<Created>();
    expect(writeToken).to.match(/^spw_/);
    expect(readToken).to.match(/^spr_/);

    const append = await request(api(`/resources/${id}/content?complete=1`), {
      method: 'PATCH',
      body: 'hello\n',
      headers: { 'Upload-Offset': 0, ...bearer(writeToken ?? '') },
    });
    expect(append.status).to.equal(200);
    const byQuery = await request(api(`/resources/${id}/content?token=${readToken}`));
    expect(byQuery.status).to.equal(200);
    expect(byQuery.text()).to.equal('hello\n');
    const readCannotWrite = await request(api(`/resources/${id}/fail`), { method: 'POST', headers: bearer(readToken ?? '') });
    expect(readCannotWrite.status).to.equal(403);

    const other = (await request(api('/uploads/other.log'), { method: 'PUT', body: 'x', headers: bearer(UPLOADER) })).json<Created>();
    const foreign = await request(api(`/resources/${other.id}/content`), { headers: bearer(readToken ?? '') });
    expect(foreign.status).to.equal(403);
    const readerApi = await request(api(`/resources/${other.id}/content`), { headers: bearer(READER) });
    expect(readerApi.status).to.equal(200);
  });

  it('lists everything only for admins; a context listing needs read', async () => {
    expect((await request(api('/resources'), { headers: bearer(READER) })).status).to.equal(403);
    expect((await request(api('/resources'), { headers: bearer(ADMIN) })).status).to.equal(200);
    expect((await request(api('/resources?context=c1'), { headers: bearer(READER) })).status).to.equal(200);
  });

  it('DELETE removes a resource for its write token (204), then it is gone (404)', async () => {
    const created = (await request(api('/uploads/doomed.log'), { method: 'PUT', body: 'bye', headers: bearer(UPLOADER) })).json<Created>();
    expect(
      (await request(api(`/resources/${created.id}`), { method: 'DELETE', headers: bearer(created.readToken ?? '') })).status,
    ).to.equal(403);
    expect((await request(api(`/resources/${created.id}`), { method: 'DELETE', headers: bearer(UPLOADER) })).status).to.equal(403);
    const deleted = await request(api(`/resources/${created.id}`), { method: 'DELETE', headers: bearer(created.writeToken ?? '') });
    expect(deleted.status).to.equal(204);
    const gone = await request(api(`/resources/${created.id}`), { headers: bearer(ADMIN) });
    expect(gone.status).to.equal(404);
    // Its tokens died with it.
    const stale = await request(api(`/resources/${created.id}`), { headers: bearer(created.readToken ?? '') });
    expect(stale.status).to.equal(401);
  });
});

describe('Access control: logs', () => {
  it('name capability tokens without any character of their secret', async () => {
    const server = await startTestServer({ authEnabled: true, apiTokens: `ci:uploader:${UPLOADER}`, logLevel: 'debug' });
    const logged: string[] = [];
    for (const transport of server.logger.transports) transport.silent = true;
    server.logger.on('data', (entry: unknown) => logged.push(JSON.stringify(entry)));
    try {
      const api = (p: string) => `${server.url}/api/v1${p}`;
      const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
      const created = (await request(api('/uploads/log.txt'), { method: 'PUT', body: 'x', headers: bearer(UPLOADER) })).json<Created>();
      const writeToken = created.writeToken ?? '';
      expect((await request(api(`/resources/${created.id}`), { headers: bearer(created.readToken ?? '') })).status).to.equal(200);
      expect((await request(api(`/resources/${created.id}`), { method: 'DELETE', headers: bearer(writeToken) })).status).to.equal(204);
      expect((await request(api(`/resources/${created.id}`), { headers: bearer(created.readToken ?? '') })).status).to.equal(401);
      const deletion = logged.find((line) => line.includes('http resource deleted')) ?? '';
      expect(deletion).to.match(/"principal":"write token #[0-9a-f]{8} of resource /);
      expect(secretFragmentsIn(logged.join('\n'), writeToken)).to.deep.equal([]);
      expect(secretFragmentsIn(logged.join('\n'), created.readToken ?? '')).to.deep.equal([]);
    } finally {
      await server.close();
    }
  });
});
