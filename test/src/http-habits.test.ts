/**
 * What users of curl, browsers and CI tools expect of the HTTP API (issue 13, items 3–7):
 * text recognised from the file name or first bytes, CORS for browser pages, gzip (live
 * for follow mode and SSE), newest-first listing and one rule for unknown parameters, and
 * a follow whose end tells COMPLETED, FAILED and a dropped connection apart.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createGunzip, gunzipSync } from 'node:zlib';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { curl, eventually, getJson, hasCurl, logLines, request, streamingRequest } from './helpers/http-client.js';
import { startTestServer } from './helpers/server.js';

interface ResourceJson {
  id: string;
  name: string | null;
  filename: string;
  mimeType: string;
  supportsLineAccess: boolean;
  state: string;
  size: number;
}

const errorOf = (body: { error: { code: string; message: string } }) => body.error;

/** A GET whose (possibly gzip) body is decoded as it arrives; `seen()` is the text so far. */
function liveGet(url: string, headers: Record<string, string>) {
  let text = '';
  let responseHeaders: Record<string, unknown> = {};
  const done = new Promise<void>((resolve, reject) => {
    const req = httpRequest(url, { headers, agent: false }, (res) => {
      responseHeaders = res.headers;
      const body = res.headers['content-encoding'] === 'gzip' ? res.pipe(createGunzip()) : res;
      body.setEncoding('utf8');
      body.on('data', (chunk: string) => {
        text += chunk;
      });
      body.on('end', () => resolve());
      body.on('error', reject);
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  done.catch(() => undefined);
  return { seen: () => text, headers: () => responseHeaders, done };
}

describe('HTTP habits of curl, browsers and CI tools', () => {
  let server: SpoolServer;
  let api: string;
  let dir: string;
  before(async () => {
    server = await startTestServer();
    api = `${server.url}/api/v1`;
    dir = mkdtempSync(path.join(tmpdir(), 'spool-habits-'));
  });
  after(() => server.close());

  describe('logs keep line access: text known by its name, else by its first bytes', () => {
    it('curl -F f=@build.log, -F f=@trace.ndjson and -F f=@data.csv are text with line access', async function () {
      if (!hasCurl()) this.skip();
      writeFileSync(path.join(dir, 'build.log'), 'compiling\nlinking\n');
      writeFileSync(path.join(dir, 'trace.ndjson'), '{"a":1}\n{"a":2}\n');
      writeFileSync(path.join(dir, 'data.csv'), 'x,y\n1,2\n');
      const res = await curl(['--fail', '-F', 'f=@build.log', '-F', 'g=@trace.ndjson', '-F', 'h=@data.csv', `${api}/resources`], {
        cwd: dir,
      });
      expect(res.code, res.stderr).to.equal(0);
      const { resources } = JSON.parse(res.stdout.toString()) as { resources: ResourceJson[] };
      expect(resources.map((r) => [r.filename, r.mimeType, r.supportsLineAccess])).to.deep.equal([
        ['build.log', 'text/plain', true],
        ['trace.ndjson', 'application/x-ndjson', true],
        ['data.csv', 'text/csv', true],
      ]);
      const lines = await getJson<{ lines: string[] }>(`${api}/resources/${resources[1]?.id}/lines`);
      expect(lines.lines).to.deep.equal(['{"a":1}', '{"a":2}']);
    });

    it('a name that tells nothing: the first bytes decide (text → text/plain with lines, binary → octet-stream); ?mimeType= is the last word', async function () {
      if (!hasCurl()) this.skip();
      const text = await curl(['--fail', '-T', '-', `${api}/uploads/output`], { input: 'step 1 ok\n\u001b[32mPASS\u001b[0m\n' });
      expect(JSON.parse(text.stdout.toString())).to.include({ mimeType: 'text/plain', supportsLineAccess: true });
      const binary = await curl(['--fail', '-T', '-', `${api}/uploads/blob`], { input: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]) });
      expect(JSON.parse(binary.stdout.toString())).to.include({ mimeType: 'application/octet-stream', supportsLineAccess: false });
      const stated = await curl(['--fail', '-T', '-', `${api}/uploads/raw?mimeType=application/octet-stream`], {
        input: 'looks like text\n',
      });
      expect(JSON.parse(stated.stdout.toString())).to.include({ mimeType: 'application/octet-stream', supportsLineAccess: false });
      // curl -F sends application/octet-stream for a file it knows nothing about: the bytes decide.
      writeFileSync(path.join(dir, 'Makefile'), 'all:\n\techo hi\n');
      const form = await curl(['--fail', '-F', 'f=@Makefile', `${api}/resources`], { cwd: dir });
      expect(JSON.parse(form.stdout.toString()).resources[0]).to.include({ mimeType: 'text/plain', supportsLineAccess: true });
    });
  });

  describe('CORS: a page on another origin (the documented HTML form, a browser app)', () => {
    it('answers a preflight before any access rule, and exposes the headers a page reads', async () => {
      const preflight = await request(`${api}/names/ci/1/build.log`, {
        method: 'OPTIONS',
        headers: {
          Origin: 'https://ci.example.com',
          'Access-Control-Request-Method': 'PUT',
          'Access-Control-Request-Headers': 'authorization, content-type, spool-name',
        },
      });
      expect(preflight.status).to.equal(204);
      expect(preflight.headers['access-control-allow-origin']).to.equal('*');
      expect(String(preflight.headers['access-control-allow-methods'])).to.contain('PUT');
      expect(String(preflight.headers['access-control-allow-headers'])).to.contain('spool-name');
      const boundary = 'browserform';
      const form = `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="page.log"\r\nContent-Type: application/octet-stream\r\n\r\nfrom a page\n\r\n--${boundary}--\r\n`;
      const posted = await request(`${api}/resources?context=ci-42`, {
        method: 'POST',
        headers: { Origin: 'https://ci.example.com', 'Content-Type': `multipart/form-data; boundary=${boundary}` },
        body: form,
      });
      expect(posted.status).to.equal(201);
      expect(posted.headers['access-control-allow-origin']).to.equal('*');
      const { id } = posted.json<{ resources: ResourceJson[] }>().resources[0] as ResourceJson;
      const page = await request(`${api}/resources/${id}/lines?format=text`, { headers: { Origin: 'https://ci.example.com' } });
      const exposed = String(page.headers['access-control-expose-headers']);
      for (const header of [
        'X-Request-Id',
        'Spool-State',
        'Spool-Name',
        'Upload-Offset',
        'Spool-Lines-Start-Offset',
        'Spool-Lines-End-Offset',
        'X-Text-Size',
      ]) {
        expect(exposed, header).to.contain(header);
      }
    });
  });

  describe('compression', () => {
    let id: string;
    const log = logLines(5000);
    before(async () => {
      id = (await request(`${api}/uploads/big.log`, { method: 'PUT', body: log })).json<{ id: string }>().id;
    });

    it('gzips JSON, line pages and progressive text for clients that accept it (curl --compressed); never ranges or whole downloads', async function () {
      const gzip = { 'Accept-Encoding': 'gzip' };
      const lines = await request(`${api}/resources/${id}/lines?count=2000`, { headers: gzip });
      expect(lines.headers['content-encoding']).to.equal('gzip');
      expect(lines.headers.vary).to.match(/Accept-Encoding/);
      expect(JSON.parse(gunzipSync(lines.body).toString()).lines).to.have.length(2000);
      const progressive = await request(`${api}/resources/${id}/content?start=0`, { headers: gzip });
      expect(progressive.headers['content-encoding']).to.equal('gzip');
      expect(gunzipSync(progressive.body).toString()).to.equal(log);
      expect(progressive.body.length * 5).to.be.below(log.length);
      const ranged = await request(`${api}/resources/${id}/content`, { headers: { ...gzip, Range: 'bytes=0-99' } });
      expect([ranged.status, ranged.headers['content-encoding'], ranged.body.length]).to.deep.equal([206, undefined, 100]);
      const whole = await request(`${api}/resources/${id}/content`, { headers: gzip });
      expect([whole.headers['content-encoding'], whole.headers['content-length']]).to.deep.equal([undefined, String(log.length)]);
      const identity = await request(`${api}/resources/${id}/lines?count=2000`);
      expect(identity.headers['content-encoding']).to.equal(undefined);
      if (!hasCurl()) this.skip();
      const viaCurl = await curl(['--fail', '--compressed', `${api}/resources/${id}/content?start=0`]);
      expect(viaCurl.stdout.toString()).to.equal(log);
    });

    it('follow mode and SSE compressed stay live: each push is flushed, so a line arrives while the upload goes on', async () => {
      const upload = streamingRequest(`${api}/uploads/live.log?name=gz/live`, { method: 'PUT' });
      await upload.write('first line\n');
      const ref = await eventually(async () => ((await request(`${api}/names/gz/live`)).status === 200 ? 'gz%2Flive' : undefined));
      const follow = liveGet(`${api}/resources/${ref}/content?follow=1`, { 'Accept-Encoding': 'gzip' });
      const events = liveGet(`${api}/resources/${ref}/events`, { 'Accept-Encoding': 'gzip' });
      await eventually(() => (follow.seen() === 'first line\n' ? true : undefined), 10_000, 'the first line, compressed and flushed');
      await eventually(() => (events.seen().includes('event: status') ? true : undefined), 10_000, 'the first status event');
      expect(follow.headers()['content-encoding']).to.equal('gzip');
      expect(events.headers()['content-encoding']).to.equal('gzip');
      await upload.write('second line\n');
      await eventually(() => (follow.seen().endsWith('second line\n') ? true : undefined), 10_000, 'the second line');
      upload.end();
      expect((await upload.response).status).to.equal(201);
      await follow.done;
      await events.done;
      expect(follow.seen()).to.equal('first line\nsecond line\n');
      expect(events.seen()).to.match(/event: end\ndata: \{[^\n]*"state":"COMPLETED"/);
    });
  });

  describe('listing and query parameters', () => {
    it('order=desc lists newest first (the newest build.log is the first); paging keeps the order', async () => {
      for (let i = 0; i < 3; i++) await request(`${api}/uploads/build.log?context=order-test`, { method: 'PUT', body: `run ${i}\n` });
      const newest = await request(`${api}/resources?context=order-test&order=desc&limit=2`);
      const page = newest.json<{ resources: ResourceJson[]; nextAfter: string }>();
      const contents = await Promise.all(page.resources.map(async (r) => (await request(`${api}/resources/${r.id}/content`)).text()));
      expect(contents).to.deep.equal(['run 2\n', 'run 1\n']);
      expect(String(newest.headers.link)).to.contain('order=desc');
      const next = await getJson<{ resources: ResourceJson[] }>(
        `${api}/resources?context=order-test&order=desc&limit=2&after=${page.nextAfter}`,
      );
      expect((await request(`${api}/resources/${next.resources[0]?.id}/content`)).text()).to.equal('run 0\n');
      const oldest = await getJson<{ resources: ResourceJson[] }>(`${api}/resources?context=order-test&limit=1`);
      expect(oldest.resources[0]?.id).to.equal(next.resources[0]?.id);
      const named = await getJson<{ resources: ResourceJson[] }>(`${api}/resources?namePrefix=gz/`);
      expect(named.resources.map((r) => r.name)).to.deep.equal(['gz/live']);
      expect((await request(`${api}/resources?order=sideways`)).status).to.equal(400);
    });

    it('one rule on every route: an unknown query parameter is refused with 400 naming it (the credential `token` aside)', async () => {
      const id = (await getJson<{ resources: ResourceJson[] }>(`${api}/resources?limit=1`)).resources[0]?.id;
      for (const url of [
        `${api}/resources?folow=1`,
        `${api}/resources/${id}?download=1`,
        `${api}/resources/${id}/content?folow=1`,
        `${api}/resources/${id}/lines?begin=3`,
        `${server.url}/health?verbose=1`,
      ]) {
        const res = await request(url);
        expect(res.status, url).to.equal(400);
        const error = errorOf(res.json());
        expect(error.code, url).to.equal('INVALID_MESSAGE');
        expect(error.message, url).to.match(/^Unknown query parameter "(folow|download|begin|verbose)"/);
      }
      const put = await request(`${api}/uploads/x.log?contxt=a`, { method: 'PUT', body: 'x' });
      expect(put.status).to.equal(400);
      expect((await request(`${api}/resources?token=whatever&limit=1`)).status).to.equal(200);
    });
  });

  describe('the end of a follow: COMPLETED, FAILED and a dropped connection tell themselves apart', () => {
    it('COMPLETED: curl exits 0 and gets the trailer Spool-State: COMPLETED; FAILED: curl exits 18 and the resource says FAILED', async function () {
      if (!hasCurl()) this.skip();
      /** An open resource, followed by curl (its answer begun), then ended by `end`. */
      const followThenEnd = async (name: string, end: 'complete' | 'fail') => {
        const open = (await request(`${api}/uploads/${name}?complete=0`, { method: 'PUT', body: 'x\n' })).json<ResourceJson>();
        const headers = path.join(dir, `${name}-headers`);
        const following = curl(['-N', '-D', headers, `${api}/resources/${open.id}/content?follow=1`]);
        await eventually(() => (safeRead(headers).includes('Trailer: Spool-State') ? true : undefined));
        await request(`${api}/resources/${open.id}/${end}`, { method: 'POST' });
        return { id: open.id, result: await following, headers: safeRead(headers) };
      };
      const completed = await followThenEnd('ok.log', 'complete');
      expect(completed.result.code, completed.result.stderr).to.equal(0);
      // The trailer, after the headers' blank line.
      expect(completed.headers).to.match(/\r\n\r\nSpool-State: COMPLETED\r\n/);

      const { id: badId, result: failed } = await followThenEnd('bad.log', 'fail');
      expect(failed.code).to.equal(18);
      expect(failed.stdout.toString()).to.equal('x\n');
      const state = await curl(['-sI', `${api}/resources/${badId}`]);
      expect(state.stdout.toString()).to.match(/^Spool-State: FAILED\r$/m);
    });

    it('a dropped connection: curl exits 18 too, but the resource is still IN_PROGRESS (follow again from the bytes you have); SSE ends without `event: end`', async function () {
      if (!hasCurl()) this.skip();
      const open = (await request(`${api}/uploads/cut.log?complete=0`, { method: 'PUT', body: 'c\n' })).json<ResourceJson>();
      const proxy = await cuttableProxy(server.port);
      try {
        const following = curl(['-N', `http://127.0.0.1:${proxy.port}/api/v1/resources/${open.id}/content?follow=1`]);
        const events = curl(['-N', `http://127.0.0.1:${proxy.port}/api/v1/resources/${open.id}/events`]);
        // Both answers began (their first bytes passed the proxy) before the network drops.
        await eventually(() => (proxy.answered() === 2 ? true : undefined));
        proxy.cutAll();
        const cut = await following;
        expect(cut.code).to.equal(18);
        const state = await curl(['-sI', `${api}/resources/${open.id}`]);
        expect(state.stdout.toString()).to.match(/^Spool-State: IN_PROGRESS\r$/m);
        const sse = (await events).stdout.toString();
        expect(sse).to.contain('event: status').and.not.contain('event: end');
      } finally {
        proxy.close();
      }
      // And an event stream that ends because the resource did carries its end.
      await request(`${api}/resources/${open.id}/fail`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '{"reason":"cancelled"}',
      });
      const ended = await request(`${api}/resources/${open.id}/events`);
      expect(ended.text()).to.match(/event: end\ndata: \{[^\n]*"state":"FAILED"[^\n]*"error":"cancelled"/);
    });
  });
});

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** A TCP proxy to `port` whose connections the test cuts at once (a network drop). */
async function cuttableProxy(port: number) {
  const sockets = new Set<Socket>();
  let answered = 0;
  const proxy: Server = createServer((client) => {
    const upstream = tcpConnect(port, '127.0.0.1');
    upstream.once('data', () => answered++);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    port: (proxy.address() as { port: number }).port,
    /** Connections whose server has begun to answer. */
    answered: () => answered,
    cutAll: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: () => proxy.close(),
  };
}
