/**
 * Checksums (issue 17): CRC-32 by default on Spool's protocol, HTTP and tus; MD5 and
 * SHA-256 on request; the HTTP conventions (RFC 9530 Repr-Digest, legacy Digest,
 * ?checksum=), a mismatch refused with nothing COMPLETED, and validators that do not need
 * an MD5.
 */
import { createHash } from 'node:crypto';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { crc32, logLines, md5, request } from './helpers/http-client.js';
import { startTestServer } from './helpers/server.js';
import { createRawUpload } from './helpers/spool-raw-client.js';

interface ResourceJson {
  id: string;
  state: string;
  size: number;
  checksum: string | null;
  checksums: Record<string, string>;
  error: string | null;
}
interface ErrorJson {
  error: { code: string; message: string };
}

const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');
const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

describe('Checksums: CRC-32 by default, MD5 and SHA-256 on request', () => {
  let server: SpoolServer;
  const api = (path: string) => `${server.url}/api/v1${path}`;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });

  it('a default PUT gets a CRC-32 only: in status and listing JSON and as Repr-Digest on reads', async () => {
    const body = logLines(500);
    const created = await request(api('/uploads/default.log'), { method: 'PUT', body });
    expect(created.status).to.equal(201);
    const json = created.json<ResourceJson>();
    expect(json).to.include({ state: 'COMPLETED', checksum: null });
    expect(json.checksums).to.deep.equal({ crc32: crc32(body) });
    expect((await request(api(`/resources/${json.id}`))).json<ResourceJson>().checksums).to.deep.equal({ crc32: crc32(body) });
    const listed = (await request(api('/resources?state=COMPLETED'))).json<{ resources: ResourceJson[] }>();
    expect(listed.resources.find((r) => r.id === json.id)?.checksums).to.deep.equal({ crc32: crc32(body) });
    const read = await request(api(`/resources/${json.id}/content`));
    expect(read.body.toString()).to.equal(body);
    expect(read.headers['repr-digest']).to.equal(`crc32=:${b64(crc32(body))}:`);
    // The whole representation's digest, whatever range is sent.
    const ranged = await request(api(`/resources/${json.id}/content`), { headers: { Range: 'bytes=0-9' } });
    expect(ranged.status).to.equal(206);
    expect(ranged.headers['repr-digest']).to.equal(`crc32=:${b64(crc32(body))}:`);
  });

  it('ETag, If-None-Match and If-Range work for a resource without an MD5', async () => {
    const body = logLines(50);
    const { id } = (await request(api('/uploads/etag.log'), { method: 'PUT', body })).json<ResourceJson>();
    const read = await request(api(`/resources/${id}/content`));
    const etag = read.headers.etag as string;
    expect(etag).to.match(/^"[^"]+"$/);
    expect(etag).not.to.include(md5(body));
    expect((await request(api(`/resources/${id}/content`), { headers: { 'If-None-Match': etag } })).status).to.equal(304);
    const partial = await request(api(`/resources/${id}/content`), { headers: { Range: 'bytes=0-4', 'If-Range': etag } });
    expect(partial.status).to.equal(206);
    expect(partial.body.toString()).to.equal(body.slice(0, 5));
    const stale = await request(api(`/resources/${id}/content`), { headers: { Range: 'bytes=0-4', 'If-Range': '"other"' } });
    expect(stale.status).to.equal(200);
  });

  it('?checksum= chooses (a comma list, or none); unknown names are a 400', async () => {
    const body = 'abc\n';
    const all = await request(api('/uploads/all.log?checksum=sha256,md5,crc32'), { method: 'PUT', body });
    expect(all.json<ResourceJson>()).to.include({ checksum: md5(body) });
    expect(all.json<ResourceJson>().checksums).to.deep.equal({ crc32: crc32(body), md5: md5(body), sha256: sha256(body) });
    const read = await request(api(`/resources/${all.json<ResourceJson>().id}/content`));
    expect(read.headers['repr-digest']).to.equal(`crc32=:${b64(crc32(body))}:, md5=:${b64(md5(body))}:, sha-256=:${b64(sha256(body))}:`);
    // Want-Repr-Digest (RFC 9530) adds the algorithms it asks for (weight above 0).
    const wanted = await request(api('/uploads/wanted.log'), { method: 'PUT', body, headers: { 'Want-Repr-Digest': 'sha-256=5, md5=0' } });
    expect(wanted.json<ResourceJson>().checksums).to.deep.equal({ crc32: crc32(body), sha256: sha256(body) });
    const none = await request(api('/uploads/none.log?checksum=none'), { method: 'PUT', body });
    expect(none.json<ResourceJson>().checksums).to.deep.equal({});
    expect((await request(api(`/resources/${none.json<ResourceJson>().id}/content`))).headers['repr-digest']).to.equal(undefined);
    const bad = await request(api('/uploads/bad.log?checksum=crc64'), { method: 'PUT', body });
    expect(bad.status).to.equal(400);
    expect(bad.json<ErrorJson>().error.code).to.equal('INVALID_MESSAGE');
  });

  it('verifies Repr-Digest and the legacy Digest; a mismatch is 422 CHECKSUM_MISMATCH and the resource FAILED', async () => {
    const body = logLines(20);
    const right = await request(api('/uploads/right.log'), {
      method: 'PUT',
      body,
      headers: { 'Repr-Digest': `crc32=:${b64(crc32(body))}:, sha-512=:AAAA:` },
    });
    expect(right.status).to.equal(201);
    const legacy = await request(api('/uploads/legacy.log'), { method: 'PUT', body, headers: { Digest: `SHA-256=${b64(sha256(body))}` } });
    expect(legacy.status).to.equal(201);
    // An expected SHA-256 is computed even though the default is CRC-32 only.
    expect(legacy.json<ResourceJson>().checksums).to.deep.equal({ crc32: crc32(body), sha256: sha256(body) });
    const wrong = await request(api('/uploads/wrong.log?name=wrong.log'), {
      method: 'PUT',
      body,
      headers: { 'Repr-Digest': `crc32=:${b64('00000000')}:` },
    });
    expect(wrong.status).to.equal(422);
    expect(wrong.json<ErrorJson>().error.code).to.equal('CHECKSUM_MISMATCH');
    const failed = (await request(api('/resources?state=FAILED'))).json<{ resources: (ResourceJson & { name: string })[] }>();
    const resource = failed.resources.find((r) => r.name === 'wrong.log');
    expect(resource).to.include({ state: 'FAILED' });
    expect(resource?.checksums).to.deep.equal({});
    const malformed = await request(api('/uploads/m.log'), { method: 'PUT', body, headers: { 'Repr-Digest': 'crc32=:nope:' } });
    expect(malformed.status).to.equal(400);
  });

  it('the final append verifies a whole-resource Repr-Digest', async () => {
    const open = (await request(api('/resources?filename=appended.log'), { method: 'POST' })).json<ResourceJson>();
    const content = api(`/resources/${open.id}/content`);
    expect((await request(content, { method: 'PATCH', body: 'one\n', headers: { 'Upload-Offset': '0' } })).status).to.equal(200);
    const final = await request(content, {
      method: 'PATCH',
      body: 'two\n',
      headers: { 'Upload-Offset': '4', 'Upload-Complete': '?1', 'Repr-Digest': `crc32=:${b64(crc32('one\ntwo\n'))}:` },
    });
    expect(final.status).to.equal(200);
    expect(final.json<ResourceJson>()).to.include({ state: 'COMPLETED' });
    expect(final.json<ResourceJson>().checksums).to.deep.equal({ crc32: crc32('one\ntwo\n') });
  });

  it('Spool protocol: CRC-32 by default; create may choose; a wrong crc32 at finish fails the resource', async () => {
    const { socket, ready } = await createRawUpload(server.wsUrl);
    await socket.binary(Buffer.from('hello\n'));
    socket.sendJson({ type: 'finish', checksums: { crc32: '00000000' } });
    const error = (await socket.message('error')) as { code: string };
    expect(error.code).to.equal('CHECKSUM_MISMATCH');
    expect(await server.core.getRecord(ready.id)).to.include({ state: 'FAILED' });
    socket.ws.close();
  });
});

describe('Checksums: the server default (uploadChecksums)', () => {
  it('applies to HTTP and the Spool protocol; httpUploadChecksum overrides it for HTTP', async () => {
    const server = await startTestServer({ uploadChecksums: 'sha256', httpUploadChecksum: 'md5' });
    try {
      const put = await request(`${server.url}/api/v1/uploads/x.log`, { method: 'PUT', body: 'x' });
      expect(put.json<ResourceJson>().checksums).to.deep.equal({ md5: md5('x') });
      const { socket } = await createRawUpload(server.wsUrl);
      await socket.binary(Buffer.from('x'));
      socket.sendJson({ type: 'finish' });
      expect(await socket.message('completed')).to.deep.include({ checksums: { sha256: sha256('x') } });
      socket.ws.close();
    } finally {
      await server.close();
    }
  });
});
