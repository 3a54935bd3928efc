/**
 * HTTP API, reading: metadata, listing, content with RFC 9110 ranges and validators,
 * line pages — over real sockets, with node:http and the real curl.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { curl, eventually, getJson, hasCurl, logLines, md5, request } from './helpers/http-client.js';
import { startTestServer } from './helpers/server.js';

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
  links: { self: string; content: string; lines: string | null; events: string };
}

/** A resource written through the core directly: the HTTP API must serve whatever uploaded it. */
async function completedResource(
  server: SpoolServer,
  data: Buffer | string,
  metadata: { filename: string; mimeType?: string; supportsLineAccess?: boolean },
  contextId?: string,
): Promise<string> {
  const session = await server.core.createUpload(
    { mimeType: 'text/plain', supportsLineAccess: true, ...metadata },
    { contextId: contextId ?? null },
  );
  session.write(Buffer.from(data));
  await session.finish();
  return session.id;
}

describe('HTTP API: reading', () => {
  let server: SpoolServer;
  const text = logLines(2000);
  let textId: string;

  before(async () => {
    server = await startTestServer();
    textId = await completedResource(server, text, { filename: 'build.log' }, 'ctx-read');
  });
  after(() => server.close());

  const content = (id: string) => `${server.url}/api/v1/resources/${id}/content`;

  describe('metadata and listing', () => {
    it('GET /api/v1/resources/:id answers metadata, status and links; HEAD carries Upload-Offset and Spool-State', async () => {
      const res = await request(`${server.url}/api/v1/resources/${textId}`);
      expect(res.status).to.equal(200);
      const json = res.json<ResourceJson>();
      expect(json).to.include({
        id: textId,
        filename: 'build.log',
        mimeType: 'text/plain',
        state: 'COMPLETED',
        size: text.length,
        lines: 2000,
      });
      expect(json.checksum).to.equal(md5(text));
      expect(json.links.content).to.equal(`/api/v1/resources/${textId}/content`);
      const head = await request(`${server.url}/api/v1/resources/${textId}`, { method: 'HEAD' });
      expect(head.status).to.equal(200);
      expect(head.headers['upload-offset']).to.equal(String(text.length));
      expect(head.headers['spool-state']).to.equal('COMPLETED');
      expect(head.body.length).to.equal(0);
    });

    it('lists with filters (state, context, name prefix) and pages with after + limit', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await completedResource(server, `r${i}\n`, { filename: `page-${i}.txt` }, 'ctx-page'));
      const open = await server.core.createUpload(
        { filename: 'page-open.txt', mimeType: 'text/plain', supportsLineAccess: true },
        { contextId: 'ctx-page' },
      );

      const all = await getJson<{ resources: ResourceJson[]; nextAfter: string | null }>(`${server.url}/api/v1/resources?context=ctx-page`);
      expect(all.resources.map((r) => r.id)).to.deep.equal([...ids, open.id]);
      expect(all.nextAfter).to.equal(null);

      const completed = await getJson<{ resources: ResourceJson[] }>(`${server.url}/api/v1/resources?context=ctx-page&state=COMPLETED`);
      expect(completed.resources.map((r) => r.id)).to.deep.equal(ids);
      const initiated = await getJson<{ resources: ResourceJson[] }>(`${server.url}/api/v1/resources?context=ctx-page&state=initiated`);
      expect(initiated.resources.map((r) => r.id)).to.deep.equal([open.id]);
      const prefixed = await getJson<{ resources: ResourceJson[] }>(`${server.url}/api/v1/resources?prefix=page-3`);
      expect(prefixed.resources.map((r) => r.filename)).to.deep.equal(['page-3.txt']);

      const first = await request(`${server.url}/api/v1/resources?context=ctx-page&limit=2`);
      const page1 = first.json<{ resources: ResourceJson[]; nextAfter: string }>();
      expect(page1.resources.map((r) => r.id)).to.deep.equal(ids.slice(0, 2));
      expect(page1.nextAfter).to.equal(ids[1]);
      expect(first.headers.link).to.equal(`</api/v1/resources?context=ctx-page&after=${ids[1]}&limit=2>; rel="next"`);
      const page2 = await getJson<{ resources: ResourceJson[] }>(
        `${server.url}/api/v1/resources?context=ctx-page&limit=2&after=${page1.nextAfter}`,
      );
      expect(page2.resources.map((r) => r.id)).to.deep.equal(ids.slice(2, 4));
      await open.fail('test over');
    });

    it('refuses bad listing parameters with 400 and the JSON error body', async () => {
      for (const query of ['state=DONE', 'limit=0', 'limit=1001', 'limit=abc']) {
        const res = await request(`${server.url}/api/v1/resources?${query}`);
        expect(res.status, query).to.equal(400);
        expect(res.json<{ error: { code: string } }>().error.code).to.equal('INVALID_MESSAGE');
      }
    });

    it('answers unknown ids with 404 RESOURCE_NOT_FOUND on every resource route, unknown routes with 404, wrong methods with 405', async () => {
      for (const suffix of ['', '/content', '/content?follow=1', '/content?start=0', '/lines', '/events']) {
        const res = await request(`${server.url}/api/v1/resources/no-such-id${suffix}`);
        expect(res.status, suffix).to.equal(404);
        expect(res.headers['content-type']).to.match(/^application\/json/);
        expect(res.json<{ error: { code: string; message: string } }>().error).to.include({
          code: 'RESOURCE_NOT_FOUND',
          message: 'Unknown resource no-such-id',
        });
      }
      const route = await request(`${server.url}/api/v1/nothing-here`);
      expect(route.status).to.equal(404);
      expect(route.json()).to.deep.equal({ error: { code: 'NOT_FOUND', message: 'No route for GET /api/v1/nothing-here' } });
      const method = await request(`${server.url}/api/v1/resources/${textId}`, { method: 'PUT', body: 'x' });
      expect(method.status).to.equal(405);
      expect(method.headers.allow).to.equal('GET, HEAD, DELETE');
      expect(method.json<{ error: { code: string } }>().error.code).to.equal('METHOD_NOT_ALLOWED');
    });
  });

  describe('content', () => {
    it('serves a completed resource whole with type, disposition, ETag (the MD5), Last-Modified and Accept-Ranges', async () => {
      const res = await request(content(textId));
      expect(res.status).to.equal(200);
      expect(res.text()).to.equal(text);
      expect(res.headers).to.include({
        'content-type': 'text/plain; charset=utf-8',
        'content-disposition': 'inline; filename="build.log"',
        'accept-ranges': 'bytes',
        'content-length': String(text.length),
        etag: `"${md5(text)}"`,
        'x-content-type-options': 'nosniff',
      });
      expect(Date.parse(res.headers['last-modified'] ?? '')).to.be.a('number').and.not.NaN;
    });

    it('HEAD gives the same headers and no body', async () => {
      const res = await request(content(textId), { method: 'HEAD' });
      expect(res.status).to.equal(200);
      expect(res.headers['content-length']).to.equal(String(text.length));
      expect(res.headers.etag).to.equal(`"${md5(text)}"`);
      expect(res.body.length).to.equal(0);
      const ranged = await request(content(textId), { method: 'HEAD', headers: { Range: 'bytes=10-19' } });
      expect(ranged.status).to.equal(206);
      expect(ranged.headers['content-range']).to.equal(`bytes 10-19/${text.length}`);
      expect(ranged.headers['content-length']).to.equal('10');
    });

    it('answers single byte ranges with 206 and Content-Range (first-last, open-ended, suffix, clamped)', async () => {
      const n = text.length;
      const cases: [string, number, number][] = [
        ['bytes=0-9', 0, 9],
        ['bytes=100-', 100, n - 1],
        ['bytes=-50', n - 50, n - 1],
        ['bytes=10-99999999', 10, n - 1],
        ['bytes=0-', 0, n - 1], // what browsers' media elements send first
        ['BYTES = 5-6', 5, 6],
      ];
      for (const [range, first, last] of cases) {
        const res = await request(content(textId), { headers: { Range: range } });
        expect(res.status, range).to.equal(206);
        expect(res.headers['content-range'], range).to.equal(`bytes ${first}-${last}/${n}`);
        expect(res.text(), range).to.equal(text.slice(first, last + 1));
      }
    });

    it('answers unsatisfiable ranges with 416, Content-Range bytes */N and the JSON error', async () => {
      for (const range of [`bytes=${text.length}-`, 'bytes=99999999-99999999', 'bytes=-0']) {
        const res = await request(content(textId), { headers: { Range: range } });
        expect(res.status, range).to.equal(416);
        expect(res.headers['content-range']).to.equal(`bytes */${text.length}`);
        expect(res.json<{ error: { code: string } }>().error.code).to.equal('INVALID_RANGE');
      }
    });

    it('ignores malformed ranges, other units and multiple ranges (200 with the whole content, as RFC 9110 allows)', async () => {
      for (const range of ['bytes=9-2', 'bytes=abc', 'bytes=', 'items=0-5', 'bytes=0-1,5-9', 'bytes 0-5']) {
        const res = await request(content(textId), { headers: { Range: range } });
        expect(res.status, range).to.equal(200);
        expect(res.body.length, range).to.equal(text.length);
      }
    });

    it('honours If-None-Match / If-Modified-Since (304) and If-Range (206 when it names this representation, else 200)', async () => {
      const first = await request(content(textId));
      const etag = first.headers.etag as string;
      const lastModified = first.headers['last-modified'] as string;
      expect((await request(content(textId), { headers: { 'If-None-Match': etag } })).status).to.equal(304);
      expect((await request(content(textId), { headers: { 'If-None-Match': `"other", W/${etag}` } })).status).to.equal(304);
      expect((await request(content(textId), { headers: { 'If-None-Match': '"other"' } })).status).to.equal(200);
      expect((await request(content(textId), { headers: { 'If-Modified-Since': lastModified } })).status).to.equal(304);

      const matching = await request(content(textId), { headers: { Range: 'bytes=0-3', 'If-Range': etag } });
      expect(matching.status).to.equal(206);
      const byDate = await request(content(textId), { headers: { Range: 'bytes=0-3', 'If-Range': lastModified } });
      expect(byDate.status).to.equal(206);
      const stale = await request(content(textId), { headers: { Range: 'bytes=0-3', 'If-Range': '"0123"' } });
      expect(stale.status).to.equal(200);
      expect(stale.body.length).to.equal(text.length);
      const weak = await request(content(textId), { headers: { Range: 'bytes=0-3', 'If-Range': `W/${etag}` } });
      expect(weak.status).to.equal(200);
    });

    it('names files in Content-Disposition with an ASCII fallback and RFC 5987 filename*; ?download=1 asks for attachment', async () => {
      const id = await completedResource(server, 'data', {
        filename: 'Résumé "final" 100%.pdf',
        mimeType: 'application/pdf',
        supportsLineAccess: false,
      });
      const res = await request(content(id));
      expect(res.headers['content-type']).to.equal('application/pdf');
      expect(res.headers['content-disposition']).to.equal(
        `inline; filename="R_sum_ _final_ 100_.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22%20100%25.pdf`,
      );
      const download = await request(`${content(id)}?download=1`);
      expect(download.headers['content-disposition']).to.match(/^attachment; filename="R_sum_/);
    });

    it('sandboxes uploaded documents that can run script (HTML, SVG), not text or media', async () => {
      const html = await completedResource(server, '<script>alert(1)</script>', { filename: 'x.html', mimeType: 'text/html' });
      const page = await request(content(html));
      expect(page.headers['content-type']).to.equal('text/html; charset=utf-8');
      expect(page.headers['content-security-policy']).to.equal('sandbox');
      expect(page.headers['x-content-type-options']).to.equal('nosniff');
      const svg = await completedResource(server, '<svg/>', { filename: 'x.svg', mimeType: 'image/svg+xml', supportsLineAccess: false });
      expect((await request(content(svg))).headers['content-security-policy']).to.equal('sandbox');
      const plain = await request(content(textId));
      expect(plain.headers['content-security-policy']).to.equal(undefined);
    });

    it('serves a growing resource up to its visible size: no validators, Content-Range total = visible size, 416 past it', async () => {
      const session = await server.core.createUpload({
        filename: 'growing.bin',
        mimeType: 'application/octet-stream',
        supportsLineAccess: false,
      });
      session.write(Buffer.alloc(1000, 7));
      await eventually(async () => ((await server.core.getStatus(session.id)).size === 1000 ? true : undefined));
      const whole = await request(content(session.id));
      expect(whole.status).to.equal(200);
      expect(whole.body.length).to.equal(1000);
      expect(whole.headers.etag).to.equal(undefined);
      expect(whole.headers['cache-control']).to.equal('no-store');
      expect(whole.headers['spool-state']).to.equal('IN_PROGRESS');
      const ranged = await request(content(session.id), { headers: { Range: 'bytes=900-' } });
      expect(ranged.status).to.equal(206);
      expect(ranged.headers['content-range']).to.equal('bytes 900-999/1000');
      const ahead = await request(content(session.id), { headers: { Range: 'bytes=1000-' } });
      expect(ahead.status).to.equal(416);
      expect(ahead.headers['content-range']).to.equal('bytes */1000');
      // If-Range cannot match a representation without validators: the whole content comes.
      const conditional = await request(content(session.id), { headers: { Range: 'bytes=0-1', 'If-Range': '"x"' } });
      expect(conditional.status).to.equal(200);
      session.write(Buffer.alloc(500, 8));
      await session.finish();
      const after = await request(content(session.id), { headers: { Range: 'bytes=1000-' } });
      expect(after.status).to.equal(206);
      expect(after.headers['content-range']).to.equal('bytes 1000-1499/1500');
    });

    it('works with curl --range and curl -C - (resume a partial download)', async function () {
      if (!hasCurl()) this.skip();
      const ranged = await curl(['--fail', '--range', '20-39', content(textId)]);
      expect(ranged.code, ranged.stderr).to.equal(0);
      expect(ranged.stdout.toString()).to.equal(text.slice(20, 40));

      const dir = mkdtempSync(path.join(tmpdir(), 'spool-curl-'));
      const file = path.join(dir, 'build.log');
      writeFileSync(file, text.slice(0, 12345));
      const resumed = await curl(['--fail', '-C', '-', '-o', file, content(textId)]);
      expect(resumed.code, resumed.stderr).to.equal(0);
      expect(readFileSync(file, 'utf8')).to.equal(text);
      // Resuming a file that is already whole: the server says 416 and curl is content.
      const again = await curl(['-C', '-', '-o', file, content(textId)]);
      expect(again.code, again.stderr).to.equal(0);
      expect(readFileSync(file, 'utf8')).to.equal(text);
    });
  });

  describe('lines', () => {
    const lines = text.split('\n').slice(0, -1);

    it('serves a page of lines as JSON from the line index, anywhere in the file', async () => {
      for (const start of [0, 255, 256, 1500, 1990]) {
        const page = await getJson<{ start: number; count: number; totalLines: number; lines: string[]; more: boolean; state: string }>(
          `${server.url}/api/v1/resources/${textId}/lines?start=${start}&count=10`,
        );
        expect(page.lines, String(start)).to.deep.equal(lines.slice(start, start + 10));
        expect(page).to.include({ start, count: 10, totalLines: 2000, state: 'COMPLETED', more: start + 10 < 2000 });
      }
    });

    it('serves the same page as text/plain (Accept or ?format=text), lines with their newlines', async () => {
      const byAccept = await request(`${server.url}/api/v1/resources/${textId}/lines?start=3&count=2`, {
        headers: { Accept: 'text/plain' },
      });
      expect(byAccept.status).to.equal(200);
      expect(byAccept.headers['content-type']).to.equal('text/plain; charset=utf-8');
      expect(byAccept.text()).to.equal(`${lines[3]}\n${lines[4]}\n`);
      expect(byAccept.headers).to.include({ 'spool-lines-start': '3', 'spool-lines-count': '2', 'spool-lines-total': '2000' });
      const byFormat = await request(`${server.url}/api/v1/resources/${textId}/lines?start=3&count=2&format=text`);
      expect(byFormat.text()).to.equal(byAccept.text());
    });

    it('cuts a page short at the last line, an empty page past it (one rule: a page holds the lines that exist), 400 for bad parameters and binary resources', async () => {
      const tail = await getJson<{ count: number; lines: string[]; more: boolean }>(
        `${server.url}/api/v1/resources/${textId}/lines?start=1995&count=100`,
      );
      expect(tail.count).to.equal(5);
      expect(tail.lines).to.deep.equal(lines.slice(1995));
      expect(tail.more).to.equal(false);
      const empty = await getJson<{ count: number }>(`${server.url}/api/v1/resources/${textId}/lines?start=2000`);
      expect(empty.count).to.equal(0);
      const past = await getJson<{ count: number; more: boolean; lines: string[] }>(
        `${server.url}/api/v1/resources/${textId}/lines?start=2001`,
      );
      expect(past).to.deep.include({ count: 0, more: false, lines: [] });
      for (const query of ['start=-1', 'count=x', 'count=10001', 'format=xml']) {
        const bad = await request(`${server.url}/api/v1/resources/${textId}/lines?${query}`);
        expect(bad.status, query).to.equal(400);
        expect(bad.json<{ error: { code: string } }>().error.code).to.equal('INVALID_MESSAGE');
      }
      const binary = await completedResource(server, Buffer.from([1, 2, 3]), {
        filename: 'x.bin',
        mimeType: 'application/octet-stream',
        supportsLineAccess: false,
      });
      const refused = await request(`${server.url}/api/v1/resources/${binary}/lines`);
      expect(refused.status).to.equal(400);
      expect(refused.json<{ error: { code: string } }>().error.code).to.equal('LINE_ACCESS_UNSUPPORTED');
    });
  });
});
