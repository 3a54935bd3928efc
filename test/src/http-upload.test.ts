/**
 * HTTP API, writing: one-shot raw uploads (PUT, Content-Length or chunked, curl -T),
 * create-then-append (tus-style Upload-Offset), explicit complete/fail, browser
 * multipart forms — and live visibility of HTTP uploads to HTTP and WebSocket readers.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { curl, eventually, getJson, hasCurl, logLines, md5, request, streamingRequest } from './helpers/http-client.js';
import { startTestServer } from './helpers/server.js';
import { RawStepSocket } from './helpers/step-raw-client.js';

interface ResourceJson {
  id: string;
  filename: string;
  mimeType: string;
  supportsLineAccess: boolean;
  contextId: string | null;
  state: string;
  size: number;
  lines: number | null;
  checksum: string | null;
  error: string | null;
}
interface ErrorJson {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

describe('HTTP API: writing', () => {
  let server: SpoolServer;
  before(async () => {
    // MD5 besides the default CRC-32, so these tests check the bytes with a digest they can name (checksums.test.ts covers the defaults).
    server = await startTestServer({ uploadChecksums: 'crc32,md5' });
  });
  after(() => server.close());

  const api = (p: string) => `${server.url}/api/v1${p}`;
  const contentOf = async (id: string) => (await request(api(`/resources/${id}/content`))).body;

  describe('one-shot raw upload (PUT /api/v1/uploads/<filename>)', () => {
    it('creates and completes a resource from a Content-Length body: 201, Location, status JSON', async () => {
      const body = logLines(500);
      const res = await request(api('/uploads/build.log'), { method: 'PUT', body, headers: { 'Content-Length': Buffer.byteLength(body) } });
      expect(res.status).to.equal(201);
      const json = res.json<ResourceJson>();
      expect(json).to.include({
        filename: 'build.log',
        mimeType: 'text/plain',
        supportsLineAccess: true,
        state: 'COMPLETED',
        size: body.length,
        lines: 500,
      });
      expect(json.checksum).to.equal(md5(body));
      expect(res.headers.location).to.equal(`/api/v1/resources/${json.id}`);
      expect(res.headers['upload-offset']).to.equal(String(body.length));
      expect((await contentOf(json.id)).toString()).to.equal(body);
    });

    it('streams a chunked body (unknown length) into the resource', async () => {
      const parts = Array.from({ length: 50 }, (_, i) => Buffer.alloc(10_000, i));
      const res = await request(api('/uploads/blob.bin'), { method: 'PUT', body: Readable.from(parts) });
      expect(res.status).to.equal(201);
      const json = res.json<ResourceJson>();
      expect(json).to.include({ mimeType: 'application/octet-stream', supportsLineAccess: false, size: 500_000, lines: null });
      expect(json.checksum).to.equal(md5(Buffer.concat(parts)));
    });

    it('takes metadata from query parameters and Spool-* headers; mimeType from Content-Type', async () => {
      const byQuery = await request(api('/uploads?filename=r%C3%A9sultat.txt&mimeType=application/json&lineAccess=1&context=ci-42'), {
        method: 'PUT',
        body: '{"a":1}\n',
      });
      expect(byQuery.status).to.equal(201);
      expect(byQuery.json<ResourceJson>()).to.include({
        filename: 'résultat.txt',
        mimeType: 'application/json',
        supportsLineAccess: true,
        contextId: 'ci-42',
      });
      const byHeaders = await request(api('/uploads'), {
        method: 'PUT',
        body: 'abc',
        headers: {
          'Spool-Filename': 'na%C3%AFve.dat',
          'Content-Type': 'text/csv; charset=utf-8',
          'Spool-Line-Access': 'false',
          'Spool-Context': 'ctx-h',
        },
      });
      expect(byHeaders.json<ResourceJson>()).to.include({
        filename: 'naïve.dat',
        mimeType: 'text/csv',
        supportsLineAccess: false,
        contextId: 'ctx-h',
      });
      const missing = await request(api('/uploads'), { method: 'PUT', body: 'abc' });
      expect(missing.status).to.equal(400);
      expect(missing.json<ErrorJson>().error.code).to.equal('INVALID_METADATA');
      const badName = await request(api('/uploads?filename=a%2Fb'), { method: 'PUT', body: 'abc' });
      expect(badName.status).to.equal(400);
      expect(badName.json<ErrorJson>().error.code).to.equal('INVALID_METADATA');
    });

    it('verifies Content-MD5: a match completes, a mismatch is 422 and leaves the resource FAILED with its bytes', async () => {
      const body = 'checked content\n';
      const good = await request(api('/uploads/ok.txt'), {
        method: 'PUT',
        body,
        headers: { 'Content-MD5': Buffer.from(md5(body), 'hex').toString('base64') },
      });
      expect(good.status).to.equal(201);
      expect(good.json<ResourceJson>().state).to.equal('COMPLETED');
      const bad = await request(api('/uploads/bad.txt'), {
        method: 'PUT',
        body,
        headers: { 'Content-MD5': Buffer.from(md5('other'), 'hex').toString('base64') },
      });
      expect(bad.status).to.equal(422);
      expect(bad.json<ErrorJson>().error.code).to.equal('CHECKSUM_MISMATCH');
      const [failed] = await server.core.list({ filenamePrefix: 'bad.txt' });
      expect(failed?.state).to.equal('FAILED');
      expect((await contentOf(failed?.id ?? '')).toString()).to.equal(body);
      const malformed = await request(api('/uploads/m.txt'), { method: 'PUT', body, headers: { 'Content-MD5': 'nope' } });
      expect(malformed.status).to.equal(400);
    });

    it('skips the MD5 with ?checksum=none (checksum null, ETag from the id); refuses none with an MD5 to verify', async () => {
      const body = logLines(100);
      const res = await request(api('/uploads/fast.log?checksum=none'), { method: 'PUT', body });
      expect(res.status).to.equal(201);
      const json = res.json<ResourceJson>();
      expect(json).to.include({ state: 'COMPLETED', size: body.length, lines: 100, checksum: null });
      const read = await request(api(`/resources/${json.id}/content`));
      expect(read.body.toString()).to.equal(body);
      expect(read.headers.etag).to.equal(`"id-${json.id}"`);
      expect((await request(api(`/resources/${json.id}/content`), { headers: { 'If-None-Match': `"id-${json.id}"` } })).status).to.equal(
        304,
      );
      const hashed = await request(api('/uploads/hashed.log'), { method: 'PUT', body, headers: { 'Spool-Checksum': 'md5' } });
      expect(hashed.json<ResourceJson>().checksum).to.equal(md5(body));
      const contradicting = await request(api(`/uploads/x.log?checksum=none&md5=${md5(body)}`), { method: 'PUT', body });
      expect(contradicting.status).to.equal(400);
      expect(contradicting.json<ErrorJson>().error.code).to.equal('INVALID_MESSAGE');
      expect((await request(api('/uploads/y.log?checksum=sha1'), { method: 'PUT', body })).status).to.equal(400);
      expect((await request(api('/uploads/y.log?checksum=none,md5'), { method: 'PUT', body })).status).to.equal(400);
    });

    it('works with curl -T file URL/ (filename from the file) and curl -T - (stdin, chunked)', async function () {
      if (!hasCurl()) this.skip();
      const dir = mkdtempSync(path.join(tmpdir(), 'spool-curl-'));
      const body = logLines(3000);
      writeFileSync(path.join(dir, 'job-17.log'), body);
      const fromFile = await curl(['--fail', '-T', 'job-17.log', api('/uploads/')], { cwd: dir });
      expect(fromFile.code, fromFile.stderr).to.equal(0);
      const created = JSON.parse(fromFile.stdout.toString()) as ResourceJson;
      expect(created).to.include({ filename: 'job-17.log', state: 'COMPLETED', size: body.length, checksum: md5(body) });

      const fromStdin = await curl(['--fail', '-T', '-', api('/uploads/piped.log')], { input: body });
      expect(fromStdin.code, fromStdin.stderr).to.equal(0);
      expect(JSON.parse(fromStdin.stdout.toString())).to.include({ filename: 'piped.log', state: 'COMPLETED', size: body.length });
    });

    it('takes a large curl -T upload (curl sends Expect: 100-continue) and refuses a bad append before curl sends it', async function () {
      if (!hasCurl()) this.skip();
      const dir = mkdtempSync(path.join(tmpdir(), 'spool-curl-'));
      const big = Buffer.alloc(3 * 1024 * 1024 + 17, 'z');
      writeFileSync(path.join(dir, 'big.bin'), big);
      const upload = await curl(['--fail', '-v', '-T', 'big.bin', api('/uploads/')], { cwd: dir });
      expect(upload.code, upload.stderr).to.equal(0);
      expect(upload.stderr).to.match(/Expect: 100-continue/i);
      const created = JSON.parse(upload.stdout.toString()) as ResourceJson;
      expect(created).to.include({ size: big.length, state: 'COMPLETED', checksum: md5(big) });

      const open = (await request(api('/resources?filename=curl-append.bin'), { method: 'POST' })).json<ResourceJson>();
      const refused = await curl(
        [
          '-v',
          '-X',
          'PATCH',
          '-H',
          'Upload-Offset: 5',
          '-T',
          'big.bin',
          '-w',
          '%{http_code}',
          '-o',
          '/dev/null',
          api(`/resources/${open.id}/content`),
        ],
        {
          cwd: dir,
        },
      );
      expect(refused.stdout.toString()).to.equal('409');
      expect(refused.stderr).to.not.match(/100 Continue/);
      expect((await getJson<ResourceJson>(api(`/resources/${open.id}`))).size).to.equal(0);
    });

    it('refuses a compressed body (415) and creates nothing', async () => {
      const res = await request(api('/uploads/z.log'), { method: 'PUT', body: 'xx', headers: { 'Content-Encoding': 'gzip' } });
      expect(res.status).to.equal(415);
      expect(res.json<ErrorJson>().error.code).to.equal('UNSUPPORTED_MEDIA_TYPE');
      expect(await server.core.list({ filenamePrefix: 'z.log' })).to.have.length(0);
    });
  });

  describe('create, then append (tus-style Upload-Offset)', () => {
    it('POST creates an open resource; PATCH appends at the right offset; a wrong offset is 409 and changes nothing; the final PATCH completes', async () => {
      const created = await request(api('/resources?filename=steps.log&context=ctx-append'), { method: 'POST' });
      expect(created.status).to.equal(201);
      const { id, state } = created.json<ResourceJson>();
      expect(state).to.equal('INITIATED');
      expect(created.headers.location).to.equal(`/api/v1/resources/${id}`);

      const head = await request(api(`/resources/${id}`), { method: 'HEAD' });
      expect(head.headers['upload-offset']).to.equal('0');

      const first = await request(api(`/resources/${id}/content`), { method: 'PATCH', body: 'one\n', headers: { 'Upload-Offset': 0 } });
      expect(first.status).to.equal(200);
      expect(first.json<ResourceJson>()).to.include({ state: 'IN_PROGRESS', size: 4, lines: 1 });
      expect(first.headers['upload-offset']).to.equal('4');

      const wrong = await request(api(`/resources/${id}/content`), { method: 'PATCH', body: 'zzz', headers: { 'Upload-Offset': 2 } });
      expect(wrong.status).to.equal(409);
      expect(wrong.headers['upload-offset']).to.equal('4');
      expect(wrong.json<ErrorJson>().error).to.deep.include({ code: 'OFFSET_MISMATCH' });
      expect((await contentOf(id)).toString()).to.equal('one\n');

      const second = await request(api(`/resources/${id}/content`), { method: 'PATCH', body: 'two\n', headers: { 'Upload-Offset': 4 } });
      expect(second.json<ResourceJson>()).to.include({ state: 'IN_PROGRESS', size: 8 });
      const final = await request(api(`/resources/${id}/content`), {
        method: 'PATCH',
        body: 'three',
        headers: { 'Upload-Offset': 8, 'Upload-Complete': '?1', 'Spool-MD5': md5('one\ntwo\nthree') },
      });
      expect(final.status).to.equal(200);
      expect(final.json<ResourceJson>()).to.include({
        state: 'COMPLETED',
        size: 13,
        lines: 3,
        checksum: md5('one\ntwo\nthree'),
        contextId: 'ctx-append',
      });

      const late = await request(api(`/resources/${id}/content`), { method: 'PATCH', body: 'x', headers: { 'Upload-Offset': 13 } });
      expect(late.status).to.equal(409);
      expect(late.json<ErrorJson>().error.code).to.equal('RESOURCE_TERMINAL');
    });

    it('POST with a JSON description; explicit /complete (with md5) and /fail (with reason) endpoints', async () => {
      const created = await request(api('/resources'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ filename: 'trace.bin', mimeType: 'application/octet-stream', contextId: 'ctx-json' }),
      });
      expect(created.status).to.equal(201);
      const { id } = created.json<ResourceJson>();
      expect(created.json<ResourceJson>()).to.include({ supportsLineAccess: false, contextId: 'ctx-json' });
      await request(api(`/resources/${id}/content`), { method: 'PATCH', body: 'abc', headers: { 'Upload-Offset': 0 } });
      const wrongSum = await request(api(`/resources/${id}/complete`), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ md5: 'z'.repeat(32) }),
      });
      expect(wrongSum.status).to.equal(400);
      const completed = await request(api(`/resources/${id}/complete`), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ md5: md5('abc') }),
      });
      expect(completed.status).to.equal(200);
      expect(completed.json<ResourceJson>()).to.include({ state: 'COMPLETED', size: 3, checksum: md5('abc') });

      const other = (await request(api('/resources?filename=doomed.log'), { method: 'POST' })).json<ResourceJson>().id;
      await request(api(`/resources/${other}/content`), { method: 'PATCH', body: 'partial', headers: { 'Upload-Offset': 0 } });
      const failed = await request(api(`/resources/${other}/fail`), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ reason: 'build cancelled' }),
      });
      expect(failed.status).to.equal(200);
      expect(failed.json<ResourceJson>()).to.include({ state: 'FAILED', size: 7, error: 'build cancelled' });
      expect((await contentOf(other)).toString()).to.equal('partial');
      const again = await request(api(`/resources/${other}/complete`), { method: 'POST' });
      expect(again.status).to.equal(409);
      expect(again.json<ErrorJson>().error.code).to.equal('RESOURCE_TERMINAL');
    });

    it('PUT with Upload-Complete: ?0 creates with content and stays open for appends', async () => {
      const res = await request(api('/uploads/part.log'), { method: 'PUT', body: 'head\n', headers: { 'Upload-Complete': '?0' } });
      expect(res.status).to.equal(201);
      const { id, state, size } = res.json<ResourceJson>();
      expect({ state, size }).to.deep.equal({ state: 'IN_PROGRESS', size: 5 });
      const done = await request(api(`/resources/${id}/content?complete=1`), {
        method: 'PATCH',
        body: 'tail\n',
        headers: { 'Upload-Offset': 5 },
      });
      expect(done.json<ResourceJson>()).to.include({ state: 'COMPLETED', size: 10, lines: 2 });
    });

    it('refuses a second writer with 409 WRITER_CONFLICT, whichever protocol holds the first', async () => {
      const session = await server.core.createUpload({ filename: 'busy.log', mimeType: 'text/plain', supportsLineAccess: true });
      const append = await request(api(`/resources/${session.id}/content`), {
        method: 'PATCH',
        body: 'x',
        headers: { 'Upload-Offset': 0 },
      });
      expect(append.status).to.equal(409);
      expect(append.json<ErrorJson>().error.code).to.equal('WRITER_CONFLICT');
      const complete = await request(api(`/resources/${session.id}/complete`), { method: 'POST' });
      expect(complete.status).to.equal(409);
      await session.finish();
    });

    it('answers Expect: 100-continue only once the offset is right: a wrong one is refused before the body is sent', async () => {
      const id = (await request(api('/resources?filename=expect.log'), { method: 'POST' })).json<ResourceJson>().id;
      const refused = streamingRequest(api(`/resources/${id}/content`), {
        method: 'PATCH',
        headers: { 'Upload-Offset': 99, Expect: '100-continue', 'Content-Length': 5 },
      });
      const res = await refused.response;
      expect(res.status).to.equal(409);
      expect(refused.continued()).to.equal(false);
      const accepted = streamingRequest(api(`/resources/${id}/content`), {
        method: 'PATCH',
        headers: { 'Upload-Offset': 0, Expect: '100-continue', 'Content-Length': 5 },
      });
      await eventually(() => (accepted.continued() ? true : undefined), 10_000, '100 Continue');
      accepted.end('hello');
      expect((await accepted.response).status).to.equal(200);
    });
  });

  describe('multipart/form-data (browser forms)', () => {
    function form(boundary: string, parts: { name: string; filename?: string; type?: string; data: Buffer | string }[]): Buffer {
      const pieces: Buffer[] = [];
      for (const part of parts) {
        let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
        if (part.filename !== undefined) head += `; filename="${part.filename}"`;
        head += '\r\n';
        if (part.type) head += `Content-Type: ${part.type}\r\n`;
        pieces.push(Buffer.from(`${head}\r\n`), Buffer.from(part.data), Buffer.from('\r\n'));
      }
      pieces.push(Buffer.from(`--${boundary}--\r\n`));
      return Buffer.concat(pieces);
    }

    it('makes every file part its own resource; fields before files set context and line access; empty file inputs are skipped', async () => {
      const big = Buffer.alloc(3 * 1024 * 1024, 'q');
      const body = form('XyZ', [
        { name: 'context', data: 'form-ctx' },
        { name: 'a', filename: 'one.log', type: 'text/plain', data: 'first file\n' },
        { name: 'lineAccess', data: 'false' },
        { name: 'b', filename: 'two.txt', type: 'text/plain', data: 'second\n' },
        { name: 'c', filename: '', type: 'application/octet-stream', data: '' },
        { name: 'd', filename: 'big.bin', type: 'application/octet-stream', data: big },
      ]);
      const res = await request(api('/resources'), {
        method: 'POST',
        body,
        headers: { 'Content-Type': 'multipart/form-data; boundary="XyZ"' },
      });
      expect(res.status, res.text()).to.equal(201);
      const { resources } = res.json<{ resources: ResourceJson[] }>();
      expect(resources.map((r) => [r.filename, r.mimeType, r.supportsLineAccess, r.contextId, r.state, r.size])).to.deep.equal([
        ['one.log', 'text/plain', true, 'form-ctx', 'COMPLETED', 11],
        ['two.txt', 'text/plain', false, 'form-ctx', 'COMPLETED', 7],
        ['big.bin', 'application/octet-stream', false, 'form-ctx', 'COMPLETED', big.length],
      ]);
      expect(resources[2]?.checksum).to.equal(md5(big));
      expect((await contentOf(resources[0]?.id ?? '')).toString()).to.equal('first file\n');
    });

    it('parses a body that arrives in tiny pieces, boundaries split across reads', async () => {
      const payload = logLines(200);
      const boundary = '----WebKitFormBoundary7MA4YWxkTrZu0gW';
      const body = form(boundary, [
        { name: 'x', filename: 'a.log', type: 'text/plain', data: payload },
        { name: 'y', filename: 'b.log', type: 'text/plain', data: payload.slice(0, 999) },
      ]);
      const upload = streamingRequest(api('/resources'), {
        method: 'POST',
        headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
      });
      for (let at = 0; at < body.length; at += 7) await upload.write(body.subarray(at, at + 7));
      upload.end();
      const res = await upload.response;
      expect(res.status, res.text()).to.equal(201);
      const { resources } = res.json<{ resources: ResourceJson[] }>();
      expect(resources.map((r) => r.checksum)).to.deep.equal([md5(payload), md5(payload.slice(0, 999))]);
    });

    it('works with curl -F (several files, as a browser sends them)', async function () {
      if (!hasCurl()) this.skip();
      const dir = mkdtempSync(path.join(tmpdir(), 'spool-form-'));
      writeFileSync(path.join(dir, 'x.log'), 'x\n');
      writeFileSync(path.join(dir, 'y.bin'), Buffer.alloc(100_000, 1));
      const result = await curl(['--fail', '-F', 'context=curl-form', '-F', 'f=@x.log', '-F', 'g=@y.bin', api('/resources')], { cwd: dir });
      expect(result.code, result.stderr).to.equal(0);
      const { resources } = JSON.parse(result.stdout.toString()) as { resources: ResourceJson[] };
      expect(resources.map((r) => [r.filename, r.size, r.state, r.contextId])).to.deep.equal([
        ['x.log', 2, 'COMPLETED', 'curl-form'],
        ['y.bin', 100_000, 'COMPLETED', 'curl-form'],
      ]);
    });

    it('answers a form without any file with 400', async () => {
      const res = await request(api('/resources'), {
        method: 'POST',
        body: form('b1', [{ name: 'context', data: 'x' }]),
        headers: { 'Content-Type': 'multipart/form-data; boundary=b1' },
      });
      expect(res.status).to.equal(400);
      expect(res.json<ErrorJson>().error.message).to.match(/no file part/);
    });
  });

  describe('live visibility of HTTP uploads', () => {
    it('WebSocket (Step) and HTTP followers see a chunked HTTP upload as it grows', async () => {
      const upload = streamingRequest(api('/uploads/live.log'), { method: 'PUT' });
      await upload.write('started\n');
      const [record] = await eventually(async () => {
        const found = await server.core.list({ filenamePrefix: 'live.log' });
        return found.length > 0 ? found : undefined;
      });
      const id = record?.id ?? '';
      const ws = new RawStepSocket(`${server.wsUrl}/ws/streaming/download/${id}`);
      await ws.waitFor((m) => (m.resourceStatus as { currentSize?: number } | undefined)?.currentSize === 8);
      const progressive = await eventually(async () => {
        const res = await request(api(`/resources/${id}/content?start=0`));
        return res.text() === 'started\n' ? res : undefined;
      });
      expect(progressive.headers['x-more-data']).to.equal('true');

      await upload.write('more\n');
      await ws.waitFor((m) => (m.resourceStatus as { currentSize?: number } | undefined)?.currentSize === 13);
      upload.end('done\n');
      expect((await upload.response).status).to.equal(201);
      const completed = await ws.waitFor(
        (m) => (m.resourceStatus as { transferStatus?: string } | undefined)?.transferStatus === 'COMPLETED',
      );
      expect(completed).to.deep.include({ resourceStatus: { transferStatus: 'COMPLETED', currentSize: 18, numberOfLines: 3 } });
      ws.ws.close();
      const json = await getJson<ResourceJson>(api(`/resources/${id}`));
      expect(json.checksum).to.equal(md5('started\nmore\ndone\n'));
    });
  });
});
