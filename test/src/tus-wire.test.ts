/**
 * tus 1.0 on the wire, request by request (what tus clients rely on and what they must
 * be refused with), and the tus flow with the real curl.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { crc32, curl, eventually, hasCurl, logLines, request, streamingRequest } from './helpers/http-client.js';
import { startTestServer } from './helpers/server.js';

const TUS = { 'Tus-Resumable': '1.0.0' };
const BYTES = { ...TUS, 'Content-Type': 'application/offset+octet-stream' };
const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('tus 1.0 on the wire', function () {
  this.timeout(20_000);
  let server: SpoolServer;
  let endpoint: string;
  before(async () => {
    server = await startTestServer({ maxResourceBytes: 10_000_000 });
    endpoint = `${server.url}/files/`;
  });
  after(() => server.close());

  /** Creates an upload; its id. */
  async function create(headers: Record<string, string> = { 'Upload-Length': '10' }): Promise<string> {
    const created = await request(endpoint, { method: 'POST', headers: { ...TUS, ...headers } });
    expect(created.status, created.text()).to.equal(201);
    return String(created.headers['spool-resource']);
  }
  const patch = (id: string, offset: number, body: string | Buffer, headers: Record<string, string> = {}) =>
    request(`${endpoint}${id}`, { method: 'PATCH', headers: { ...BYTES, 'Upload-Offset': String(offset), ...headers }, body });
  const head = (id: string) => request(`${endpoint}${id}`, { method: 'HEAD', headers: TUS });

  it('OPTIONS advertises exactly what is supported', async () => {
    const options = await request(endpoint, { method: 'OPTIONS' });
    expect(options.status).to.equal(204);
    expect(options.headers).to.include({
      'tus-resumable': '1.0.0',
      'tus-version': '1.0.0',
      'tus-extension': 'creation,creation-with-upload,creation-defer-length,expiration,termination,checksum,concatenation',
      'tus-checksum-algorithm': 'crc32,sha1,md5,sha256',
      'tus-max-size': '10000000',
    });
    expect((await request(`${endpoint}some-id`, { method: 'OPTIONS' })).headers.allow).to.equal('HEAD, PATCH, DELETE');
  });

  it('creates with Location, Upload-Expires and Spool’s headers; the resource is readable at once', async () => {
    const created = await request(endpoint, {
      method: 'POST',
      headers: { ...TUS, 'Upload-Length': '10', 'Upload-Metadata': `filename ${b64('a.log')}` },
    });
    expect(created.status).to.equal(201);
    const id = String(created.headers['spool-resource']);
    expect(created.headers.location).to.equal(`${server.url}/files/${id}`);
    expect(created.headers).to.include({ 'upload-offset': '0', 'upload-length': '10', 'spool-state': 'INITIATED' });
    const expires = Date.parse(String(created.headers['upload-expires']));
    expect(expires).to.be.greaterThan(Date.now() + 9 * 60_000); // resumeGraceMs: 10 min by default
    const resource = await request(`${server.url}/api/v1/resources/${id}`);
    expect(resource.json()).to.include({ filename: 'a.log', mimeType: 'text/plain', state: 'INITIATED', size: 0 });
  });

  it('refuses what is not tus 1.0 (412), bytes of another type (415), a wrong offset (409) — changing nothing', async () => {
    const noVersion = await request(endpoint, { method: 'POST', headers: { 'Upload-Length': '10' } });
    expect(noVersion.status).to.equal(412);
    expect(noVersion.headers['tus-version']).to.equal('1.0.0');
    expect(noVersion.headers['content-type']).to.equal('text/plain; charset=utf-8');
    expect(noVersion.text()).to.match(/^PRECONDITION_FAILED: Tus-Resumable: 1\.0\.0 is required/);
    expect((await request(endpoint, { method: 'POST', headers: { 'Tus-Resumable': '0.2.2', 'Upload-Length': '1' } })).status).to.equal(412);

    const id = await create();
    const wrongType = await request(`${endpoint}${id}`, {
      method: 'PATCH',
      headers: { ...TUS, 'Upload-Offset': '0', 'Content-Type': 'application/octet-stream' },
      body: 'abc',
    });
    expect(wrongType.status).to.equal(415);
    expect((await patch(id, 0, 'abc')).status).to.equal(204);
    const wrongOffset = await patch(id, 1, 'xyz');
    expect(wrongOffset.status).to.equal(409);
    expect(wrongOffset.text()).to.match(/^OFFSET_MISMATCH: /);
    expect(wrongOffset.headers['upload-offset']).to.equal('3');
    expect((await head(id)).headers['upload-offset']).to.equal('3');
    expect((await request(`${server.url}/api/v1/resources/${id}/content`)).text()).to.equal('abc');
  });

  it('refuses bad creations with a 400 naming the header, and lengths over Tus-Max-Size with 413', async () => {
    const refusals: [Record<string, string>, number, RegExp][] = [
      [{}, 400, /Upload-Length is required/],
      [{ 'Upload-Length': '5', 'Upload-Defer-Length': '1' }, 400, /not both/],
      [{ 'Upload-Length': 'ten' }, 400, /Upload-Length must be a non-negative integer/],
      [{ 'Upload-Length': '5', 'Upload-Metadata': 'filename !!!' }, 400, /not valid base64/],
      [{ 'Upload-Length': '5', 'Upload-Metadata': `a ${b64('x')},a ${b64('y')}` }, 400, /twice/],
      [{ 'Upload-Length': '5', 'Upload-Concat': 'whole' }, 400, /Upload-Concat must be/],
      [{ 'Upload-Length': '10000001' }, 413, /larger than Tus-Max-Size 10000000/],
    ];
    const before = (await server.core.list()).length;
    for (const [headers, status, message] of refusals) {
      const answer = await request(endpoint, { method: 'POST', headers: { ...TUS, ...headers } });
      expect(answer.status, JSON.stringify(headers)).to.equal(status);
      expect(answer.text(), JSON.stringify(headers)).to.match(message);
    }
    expect((await server.core.list()).length).to.equal(before);
  });

  it('keeps a body to its Upload-Length: declared longer is refused up front; a chunked one is cut at the length, which completes the upload', async () => {
    const id = await create({ 'Upload-Length': '10' });
    const declared = await patch(id, 0, '0123456789AB');
    expect(declared.status).to.equal(413);
    expect(declared.text()).to.match(/past Upload-Length 10/);
    expect((await head(id)).headers['upload-offset']).to.equal('0');

    const chunked = streamingRequest(`${endpoint}${id}`, { method: 'PATCH', headers: { ...BYTES, 'Upload-Offset': '0' } });
    await chunked.write('01234');
    chunked.end('56789AB');
    expect((await chunked.response).status).to.equal(413);
    expect(await server.core.getStatus(id)).to.include({ state: 'COMPLETED', size: 10 });
    expect((await request(`${server.url}/api/v1/resources/${id}/content`)).text()).to.equal('0123456789');
  });

  it('defers the length until a PATCH says it; it cannot change afterwards', async () => {
    const id = await create({ 'Upload-Defer-Length': '1' });
    expect((await head(id)).headers['upload-defer-length']).to.equal('1');
    expect((await patch(id, 0, 'abc')).status).to.equal(204);
    expect((await patch(id, 3, 'd', { 'Upload-Length': '2' })).text()).to.match(/less than the 3 bytes/);
    const last = await patch(id, 3, 'def', { 'Upload-Length': '6' });
    expect(last.status).to.equal(204);
    expect(last.headers).to.include({ 'upload-offset': '6', 'upload-length': '6', 'spool-state': 'COMPLETED' });
    expect(last.headers['upload-expires']).to.equal(undefined);
    const other = await create({ 'Upload-Defer-Length': '1' });
    expect((await patch(other, 0, 'a', { 'Upload-Length': '5' })).status).to.equal(204);
    expect((await patch(other, 1, 'b', { 'Upload-Length': '6' })).text()).to.match(/differs from the upload's 5: it cannot change/);
  });

  it('verifies a creation-with-upload checksum before creating anything', async () => {
    const before = (await server.core.list()).length;
    const bad = await request(endpoint, {
      method: 'POST',
      headers: { ...BYTES, 'Upload-Length': '3', 'Upload-Checksum': `md5 ${Buffer.alloc(16).toString('base64')}` },
      body: 'abc',
    });
    expect(bad.status).to.equal(460);
    expect((await server.core.list()).length).to.equal(before);
    const unknown = await request(endpoint, {
      method: 'POST',
      headers: { ...BYTES, 'Upload-Length': '3', 'Upload-Checksum': 'crc64nvme AAAAAAAAAAA=' },
      body: 'abc',
    });
    expect(unknown.status).to.equal(400);
    expect(unknown.text()).to.match(/crc64nvme.* not supported; supported: crc32, sha1, md5, sha256/);
    // CRC-32 (4 bytes, big-endian, base64), as S3 and tus clients send it.
    const wrongCrc = await request(endpoint, {
      method: 'POST',
      headers: { ...BYTES, 'Upload-Length': '3', 'Upload-Checksum': 'crc32 AAAAAA==' },
      body: 'abc',
    });
    expect(wrongCrc.status).to.equal(460);
    expect((await server.core.list()).length).to.equal(before);
    const rightCrc = await request(endpoint, {
      method: 'POST',
      headers: { ...BYTES, 'Upload-Length': '3', 'Upload-Checksum': `crc32 ${Buffer.from(crc32('abc'), 'hex').toString('base64')}` },
      body: 'abc',
    });
    expect(rightCrc.status).to.equal(201);
  });

  it('concatenation: partials must be complete partial uploads; a final takes no PATCH; GET is not a tus method', async () => {
    const partial = await create({ 'Upload-Length': '3', 'Upload-Concat': 'partial' });
    const plain = await create({ 'Upload-Length': '3' });
    const finalOf = (...ids: string[]) =>
      request(endpoint, { method: 'POST', headers: { ...TUS, 'Upload-Concat': `final;${ids.map((id) => `/files/${id}`).join(' ')}` } });
    expect((await finalOf(partial)).text()).to.match(/is IN_PROGRESS|is INITIATED/);
    expect((await finalOf(plain)).text()).to.match(/is not a partial upload/);
    expect((await finalOf('nope')).status).to.equal(404);
    expect((await patch(partial, 0, 'abc')).status).to.equal(204);
    const final = await finalOf(partial, partial);
    expect(final.status).to.equal(201);
    const finalId = String(final.headers['spool-resource']);
    expect(final.headers).to.include({ 'upload-offset': '6', 'upload-length': '6', 'spool-state': 'COMPLETED' });
    expect((await request(`${server.url}/api/v1/resources/${finalId}/content`)).text()).to.equal('abcabc');
    const patched = await patch(finalId, 6, 'x');
    expect(patched.status).to.equal(403);
    expect(patched.text()).to.match(/final upload/);
    const get = await request(`${endpoint}${finalId}`);
    expect(get.status).to.equal(405);
    expect(get.headers.allow).to.equal('HEAD, PATCH, DELETE');
  });

  it('answers a tus browser client’s CORS preflight and exposes the tus headers', async () => {
    const preflight = await request(`${endpoint}x`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://app.example.com',
        'Access-Control-Request-Method': 'PATCH',
        'Access-Control-Request-Headers': 'tus-resumable,upload-offset,content-type,authorization',
      },
    });
    expect(preflight.status).to.equal(204);
    expect(preflight.headers['access-control-allow-origin']).to.equal('*');
    expect(preflight.headers['access-control-allow-headers']).to.equal('tus-resumable,upload-offset,content-type,authorization');
    expect(String(preflight.headers['access-control-allow-methods'])).to.include('PATCH');
    const created = await request(endpoint, {
      method: 'POST',
      headers: { ...TUS, 'Upload-Length': '1', Origin: 'https://app.example.com' },
    });
    const exposed = String(created.headers['access-control-expose-headers']).split(',');
    for (const header of [
      'Location',
      'Upload-Offset',
      'Upload-Length',
      'Upload-Metadata',
      'Upload-Expires',
      'Upload-Concat',
      'Tus-Resumable',
    ]) {
      expect(exposed, header).to.include(header);
    }
    for (const header of ['Upload-Defer-Length', 'Tus-Version', 'Tus-Extension', 'Spool-Resource', 'Link'])
      expect(exposed).to.include(header);
  });

  it('the tus flow with curl: create, PATCH a file, HEAD', async function () {
    if (!hasCurl()) this.skip();
    const dir = mkdtempSync(path.join(tmpdir(), 'spool-tus-curl-'));
    const file = path.join(dir, 'build.log');
    const text = logLines(2000);
    writeFileSync(file, text);
    const created = await curl([
      '-i',
      '-X',
      'POST',
      '-H',
      'Tus-Resumable: 1.0.0',
      '-H',
      `Upload-Length: ${Buffer.byteLength(text)}`,
      '-H',
      `Upload-Metadata: filename ${b64('build.log')}`,
      endpoint,
    ]);
    const location = /^location: (\S+)/im.exec(created.stdout.toString())?.[1];
    expect(location, created.stdout.toString()).to.be.a('string');
    const patched = await curl([
      '-i',
      '-X',
      'PATCH',
      '-H',
      'Tus-Resumable: 1.0.0',
      '-H',
      'Upload-Offset: 0',
      '-H',
      'Content-Type: application/offset+octet-stream',
      '--data-binary',
      `@${file}`,
      location as string,
    ]);
    expect(patched.stdout.toString()).to.match(/^HTTP\/1\.1 204 /);
    const described = await curl(['-I', '-H', 'Tus-Resumable: 1.0.0', location as string]);
    expect(described.stdout.toString()).to.match(new RegExp(`upload-offset: ${Buffer.byteLength(text)}\\r`, 'i'));
    const id = (location as string).slice((location as string).lastIndexOf('/') + 1);
    expect((await request(`${server.url}/api/v1/resources/${id}/content`)).text()).to.equal(text);
  });
});

describe('tus expiration', () => {
  it('an unfinished upload expires after the resume grace: HEAD and PATCH answer 410 Gone', async () => {
    const server = await startTestServer({ resumeGraceMs: 100, sweepIntervalMs: 50 });
    try {
      const created = await request(`${server.url}/files/`, { method: 'POST', headers: { ...TUS, 'Upload-Length': '10' } });
      const id = String(created.headers['spool-resource']);
      const expires = Date.parse(String(created.headers['upload-expires']));
      // HTTP dates have whole seconds.
      expect(expires).to.be.within(Date.now() - 2_000, Date.now() + 2_000);
      await eventually(async () => ((await server.core.getStatus(id)).state === 'FAILED' ? true : undefined), 10_000, 'expiry');
      const gone = await request(`${server.url}/files/${id}`, { method: 'HEAD', headers: TUS });
      expect(gone.status).to.equal(410);
      const patched = await request(`${server.url}/files/${id}`, {
        method: 'PATCH',
        headers: { ...BYTES, 'Upload-Offset': '0' },
        body: 'abc',
      });
      expect(patched.status).to.equal(410);
      expect(patched.text()).to.match(/^RESOURCE_TERMINAL: /);
    } finally {
      await server.close();
    }
  });
});
