/**
 * HTTP API, limits and bad input: every violation gets a clear 4xx with the JSON error
 * body, keeps the data accepted before it, and leaves other sessions alone.
 */
import { Readable } from 'node:stream';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { crc32, eventually, getJson, rawExchange, rawJson, rawStatus, request, streamingRequest } from './helpers/http-client.js';
import { startTestServer } from './helpers/server.js';

interface ResourceJson {
  id: string;
  state: string;
  size: number;
  error: string | null;
}
interface ErrorJson {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

const BODY_LIMIT = 1000;
const RESOURCE_LIMIT = 1500;
const IDLE_MS = 300;
const DEADLINE_MS = 1500;

describe('HTTP API: limits and bad input', () => {
  let server: SpoolServer;
  before(async () => {
    server = await startTestServer({
      httpMaxBodyBytes: BODY_LIMIT,
      maxResourceBytes: RESOURCE_LIMIT,
      httpIdleTimeoutMs: IDLE_MS,
      httpRequestDeadlineMs: DEADLINE_MS,
      httpMaxHeaderBytes: 2048,
    });
  });
  after(() => server.close());

  const api = (p: string) => `${server.url}/api/v1${p}`;
  const bytes = (n: number, from = 0) => Buffer.from(Array.from({ length: n }, (_, i) => 97 + ((from + i) % 26)));
  const contentOf = async (id: string) => (await request(api(`/resources/${id}/content`))).body;
  async function settled(id: string, state: string): Promise<ResourceJson> {
    return eventually(
      async () => {
        const json = await getJson<ResourceJson>(api(`/resources/${id}`));
        return json.state === state ? json : undefined;
      },
      10_000,
      `${id} ${state}`,
    );
  }
  async function openResource(name: string): Promise<string> {
    return (await request(api(`/resources?filename=${name}`), { method: 'POST' })).json<ResourceJson>().id;
  }
  async function onlyResourceNamed(name: string): Promise<string> {
    const found = await eventually(async () => {
      const list = await server.core.list({ filenamePrefix: name });
      return list.length > 0 ? list : undefined;
    });
    expect(found).to.have.length(1);
    return found[0]?.id ?? '';
  }

  describe('max body size (httpMaxBodyBytes, maxResourceBytes) → 413', () => {
    it('refuses a declared Content-Length over the limit before creating anything', async () => {
      const res = await request(api('/uploads/declared.bin'), { method: 'PUT', body: bytes(5000), headers: { 'Content-Length': 5000 } });
      expect(res.status).to.equal(413);
      expect(res.json<ErrorJson>().error.code).to.equal('MESSAGE_TOO_LARGE');
      expect(await server.core.list({ filenamePrefix: 'declared.bin' })).to.have.length(0);
    });

    it('a chunked one-shot upload over the limit: 413, resource FAILED with exactly the first bytes kept', async () => {
      const body = bytes(4000);
      const upload = streamingRequest(api('/uploads/chunked-over.bin'), { method: 'PUT' });
      for (let at = 0; at < body.length; at += 400) await upload.write(body.subarray(at, at + 400)).catch(() => undefined);
      upload.end();
      const res = await upload.response;
      expect(res.status).to.equal(413);
      const error = res.json<ErrorJson>().error;
      expect(error.code).to.equal('MESSAGE_TOO_LARGE');
      expect(error.message).to.match(/httpMaxBodyBytes.*FAILED/);
      expect(res.headers.connection).to.equal('close');
      const id = await onlyResourceNamed('chunked-over.bin');
      const json = await settled(id, 'FAILED');
      expect(json.size).to.equal(BODY_LIMIT);
      expect((await contentOf(id)).equals(body.subarray(0, BODY_LIMIT))).to.equal(true);
    });

    it('an append over the limit: 413, the bytes up to it kept, the resource still open at the new offset', async () => {
      const id = await openResource('append-over.bin');
      const upload = streamingRequest(api(`/resources/${id}/content`), { method: 'PATCH', headers: { 'Upload-Offset': 0 } });
      const body = bytes(2000);
      for (let at = 0; at < body.length; at += 500) await upload.write(body.subarray(at, at + 500)).catch(() => undefined);
      upload.end();
      const res = await upload.response;
      expect(res.status).to.equal(413);
      expect(res.headers['upload-offset']).to.equal(String(BODY_LIMIT));
      expect(res.json<ErrorJson>().error.details).to.deep.include({ resource: { id, state: 'IN_PROGRESS', size: BODY_LIMIT } });
      const head = await request(api(`/resources/${id}`), { method: 'HEAD' });
      expect(head.headers['upload-offset']).to.equal(String(BODY_LIMIT));
      expect(head.headers['spool-state']).to.equal('IN_PROGRESS');

      // The resource limit (1500) leaves room for 500 more: the rest of a 1000-byte append is refused.
      const next = await request(api(`/resources/${id}/content`), {
        method: 'PATCH',
        body: Readable.from([bytes(1000, BODY_LIMIT)]),
        headers: { 'Upload-Offset': BODY_LIMIT },
      });
      expect(next.status).to.equal(413);
      expect(next.json<ErrorJson>().error.message).to.match(/maxResourceBytes/);
      const done = await request(api(`/resources/${id}/complete`), { method: 'POST' });
      expect(done.json<ResourceJson>()).to.include({ state: 'COMPLETED', size: RESOURCE_LIMIT });
      expect((await contentOf(id)).equals(Buffer.concat([body.subarray(0, BODY_LIMIT), bytes(500, BODY_LIMIT)]))).to.equal(true);
    });

    it('a form over the limit: 413, the file being received FAILED with what it got', async () => {
      const boundary = 'lim';
      const body = Buffer.concat([
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="form-over.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
        ),
        bytes(3000),
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      const upload = streamingRequest(api('/resources'), {
        method: 'POST',
        headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
      });
      for (let at = 0; at < body.length; at += 300) await upload.write(body.subarray(at, at + 300)).catch(() => undefined);
      upload.end();
      const res = await upload.response;
      expect(res.status).to.equal(413);
      const id = await onlyResourceNamed('form-over.bin');
      const json = await settled(id, 'FAILED');
      expect(json.size).to.be.greaterThan(0).and.at.most(BODY_LIMIT);
      expect((await contentOf(id)).equals(bytes(json.size))).to.equal(true);
    });
  });

  describe('time limits → 408', () => {
    it('idle timeout on a one-shot upload: 408, resource FAILED with the bytes received', async () => {
      const upload = streamingRequest(api('/uploads/idle.log'), { method: 'PUT' });
      await upload.write('early bytes\n');
      const res = await upload.response; // the client now sends nothing
      expect(res.status).to.equal(408);
      expect(res.json<ErrorJson>().error.code).to.equal('TIMEOUT');
      expect(res.json<ErrorJson>().error.message).to.match(new RegExp(`No request body bytes for ${IDLE_MS} ms`));
      const id = await onlyResourceNamed('idle.log');
      const json = await settled(id, 'FAILED');
      expect((await contentOf(id)).toString()).to.equal('early bytes\n');
      expect(json.error).to.match(/No request body bytes/);
      upload.abort();
    });

    it('idle timeout on an append: 408, bytes kept, resource still open for the next append', async () => {
      const id = await openResource('idle-append.log');
      const upload = streamingRequest(api(`/resources/${id}/content`), { method: 'PATCH', headers: { 'Upload-Offset': 0 } });
      await upload.write('kept\n');
      const res = await upload.response;
      expect(res.status).to.equal(408);
      expect(res.headers['upload-offset']).to.equal('5');
      upload.abort();
      const resumed = await request(api(`/resources/${id}/content`), {
        method: 'PATCH',
        body: 'rest\n',
        headers: { 'Upload-Offset': 5, 'Upload-Complete': '?1' },
      });
      expect(resumed.json<ResourceJson>()).to.include({ state: 'COMPLETED', size: 10 });
    });

    it('overall deadline: a body still trickling in at the deadline gets 408, bytes kept', async () => {
      const upload = streamingRequest(api('/uploads/slow.log'), { method: 'PUT' });
      let sent = 0;
      let answered = false;
      void upload.response.then(() => {
        answered = true;
      });
      while (!answered && sent < 900) {
        await upload.write('0123456789').catch(() => undefined);
        sent += 10;
        await new Promise((r) => setTimeout(r, 50));
      }
      const res = await upload.response;
      expect(res.status).to.equal(408);
      expect(res.json<ErrorJson>().error.message).to.match(new RegExp(`deadline of ${DEADLINE_MS} ms`));
      upload.abort();
      const id = await onlyResourceNamed('slow.log');
      const json = await settled(id, 'FAILED');
      expect(json.size).to.be.greaterThan(0);
      expect((await contentOf(id)).toString()).to.equal('0123456789'.repeat(json.size / 10));
    });
  });

  describe('header size limit (httpMaxHeaderBytes) → 431', () => {
    it('answers an oversized request head with 431 and the JSON error body', async () => {
      const res = await request(api('/resources'), { headers: { 'X-Padding': 'p'.repeat(4096) } });
      expect(res.status).to.equal(431);
      expect(res.json<ErrorJson>().error.code).to.equal('HEADERS_TOO_LARGE');
      const ok = await request(api('/resources'), { headers: { 'X-Padding': 'p'.repeat(512) } });
      expect(ok.status).to.equal(200);
    });

    it('answers a malformed request with 400 and the JSON error body', async () => {
      const text = await rawExchange(server.port, 'BLAH /\r\n\r\n');
      expect(rawStatus(text)).to.equal(400);
      expect(rawJson<ErrorJson>(text).error.code).to.equal('INVALID_MESSAGE');
    });
  });

  describe('truncated bodies (the client goes away mid-upload)', () => {
    it('a one-shot upload cut short: resource FAILED, the bytes received readable', async () => {
      const head = 'PUT /api/v1/uploads/cut.log HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n';
      await rawExchange(server.port, Buffer.concat([Buffer.from(head), bytes(400)]), { thenClose: true, timeoutMs: 1000 });
      const id = await onlyResourceNamed('cut.log');
      const json = await settled(id, 'FAILED');
      expect(json.size).to.equal(400);
      expect(json.error).to.match(/closed the connection/);
      expect((await contentOf(id)).equals(bytes(400))).to.equal(true);
    });

    it('an append cut short: what was received is kept and the resource stays resumable at the new offset', async () => {
      const id = await openResource('cut-append.log');
      const head = `PATCH /api/v1/resources/${id}/content HTTP/1.1\r\nHost: x\r\nUpload-Offset: 0\r\nContent-Length: 900\r\n\r\n`;
      await rawExchange(server.port, Buffer.concat([Buffer.from(head), bytes(300)]), { thenClose: true, timeoutMs: 1000 });
      const offset = await eventually(async () => {
        const res = await request(api(`/resources/${id}`), { method: 'HEAD' });
        return res.headers['upload-offset'] === '300' && server.core.activeUpload(id) === undefined
          ? res.headers['upload-offset']
          : undefined;
      });
      expect(offset).to.equal('300');
      expect((await getJson<ResourceJson>(api(`/resources/${id}`))).state).to.equal('IN_PROGRESS');
      const rest = await request(api(`/resources/${id}/content`), {
        method: 'PATCH',
        body: bytes(600, 300),
        headers: { 'Upload-Offset': 300, 'Upload-Complete': '?1' },
      });
      expect(rest.json<ResourceJson>()).to.include({ state: 'COMPLETED', size: 900 });
      expect((await contentOf(id)).equals(bytes(900))).to.equal(true);
    });

    it('a form cut short: files already received stay COMPLETED, the one in progress is FAILED with its bytes', async () => {
      const boundary = 'cut';
      const body = Buffer.concat([
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="a"; filename="cut-a.txt"\r\nContent-Type: text/plain\r\n\r\nwhole\r\n`,
        ),
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="b"; filename="cut-b.txt"\r\nContent-Type: text/plain\r\n\r\npartial-`,
        ),
      ]);
      const head = `POST /api/v1/resources HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 900\r\n\r\n`;
      await rawExchange(server.port, Buffer.concat([Buffer.from(head), body]), { thenClose: true, timeoutMs: 1000 });
      const a = await onlyResourceNamed('cut-a.txt');
      const b = await onlyResourceNamed('cut-b.txt');
      expect((await settled(a, 'COMPLETED')).size).to.equal(5);
      const failed = await settled(b, 'FAILED');
      expect((await contentOf(b)).toString()).to.equal('partial-'.slice(0, failed.size));
    });
  });

  describe('bad input → 400 / 404 / 415', () => {
    it('invalid offsets and parameters are 400 INVALID_MESSAGE', async () => {
      const id = await openResource('params.log');
      for (const offset of [undefined, 'abc', '-1', '1.5', '']) {
        const headers: Record<string, string> = offset === undefined ? {} : { 'Upload-Offset': offset };
        const res = await request(api(`/resources/${id}/content`), { method: 'PATCH', body: 'x', headers });
        expect(res.status, String(offset)).to.equal(400);
        expect(res.json<ErrorJson>().error.code).to.equal('INVALID_MESSAGE');
      }
      for (const query of ['start=x', 'start=-5', 'follow=maybe', 'download=perhaps']) {
        const res = await request(api(`/resources/${id}/content?${query}`));
        expect(res.status, query).to.equal(400);
      }
      const complete = await request(api(`/resources/${id}/content`), {
        method: 'PATCH',
        body: 'x',
        headers: { 'Upload-Offset': 0, 'Upload-Complete': 'perhaps' },
      });
      expect(complete.status).to.equal(400);
      const contentMd5 = await request(api(`/resources/${id}/content`), {
        method: 'PATCH',
        body: 'x',
        headers: { 'Upload-Offset': 0, 'Content-MD5': 'AAAAAAAAAAAAAAAAAAAAAA==' },
      });
      expect(contentMd5.status).to.equal(400);
      // None of these changed the resource.
      expect((await getJson<ResourceJson>(api(`/resources/${id}`))).size).to.equal(0);
    });

    it('appends to unknown ids are 404', async () => {
      const res = await request(api('/resources/unknown/content'), { method: 'PATCH', body: 'x', headers: { 'Upload-Offset': 0 } });
      expect(res.status).to.equal(404);
      expect(res.json<ErrorJson>().error.code).to.equal('RESOURCE_NOT_FOUND');
      const complete = await request(api('/resources/unknown/complete'), { method: 'POST' });
      expect(complete.status).to.equal(404);
    });

    it('bad JSON is 400, JSON of the wrong shape is 400, other media types are 415, oversized JSON is 413', async () => {
      const post = (body: string, type = 'application/json') =>
        request(api('/resources?filename=j.log'), { method: 'POST', body, headers: { 'Content-Type': type } });
      const malformed = await post('{"filename": ');
      expect(malformed.status).to.equal(400);
      expect(malformed.json<ErrorJson>().error.message).to.match(/^Malformed JSON body/);
      for (const body of ['[1,2]', '"x"', '{"filename": 7}', '{"nonsense": true}']) {
        const res = await post(body);
        expect(res.status, body).to.equal(400);
        expect(res.json<ErrorJson>().error.code).to.equal('INVALID_MESSAGE');
      }
      const text = await post('filename=x', 'text/plain');
      expect(text.status).to.equal(415);
      expect(text.json<ErrorJson>().error.code).to.equal('UNSUPPORTED_MEDIA_TYPE');
      const huge = await post(JSON.stringify({ filename: 'x'.repeat(70 * 1024) }));
      expect(huge.status).to.equal(413);
      const id = await openResource('fail-json.log');
      const badFail = await request(api(`/resources/${id}/fail`), {
        method: 'POST',
        body: '{oops',
        headers: { 'Content-Type': 'application/json' },
      });
      expect(badFail.status).to.equal(400);
      expect((await getJson<ResourceJson>(api(`/resources/${id}`))).state).to.equal('INITIATED');
    });

    it('multipart without a boundary is 400, and creates nothing', async () => {
      const res = await request(api('/resources'), {
        method: 'POST',
        body: 'whatever',
        headers: { 'Content-Type': 'multipart/form-data' },
      });
      expect(res.status).to.equal(400);
      expect(res.json<ErrorJson>().error.message).to.match(/Boundary not found/);
    });
  });

  it('one bad client never affects another upload running at the same time', async () => {
    const good = streamingRequest(api('/uploads/good.log'), { method: 'PUT' });
    const bad = streamingRequest(api('/uploads/bad-neighbour.log'), { method: 'PUT' });
    const goodBody: string[] = [];
    for (let i = 0; i < 8; i++) {
      const line = `good ${i}\n`;
      goodBody.push(line);
      await good.write(line);
      await bad.write(bytes(200, i * 200)).catch(() => undefined);
    }
    const cut = streamingRequest(api('/uploads/cut-neighbour.log'), { method: 'PUT' });
    await cut.write('bye');
    cut.abort();
    good.end();
    bad.end();
    expect((await bad.response).status).to.equal(413);
    const res = await good.response;
    expect(res.status).to.equal(201);
    expect(res.json<ResourceJson & { checksums: Record<string, string> }>()).to.include({ state: 'COMPLETED' });
    expect(res.json<ResourceJson & { checksums: Record<string, string> }>().checksums).to.deep.equal({ crc32: crc32(goodBody.join('')) });
    const health = await getJson<{ status: string }>(`${server.url}/health`);
    expect(health.status).to.equal('ok');
  });
});
