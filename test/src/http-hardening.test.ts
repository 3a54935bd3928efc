/**
 * HTTP API, what Node's HTTP layer would answer on its own (or not at all), event
 * stream heads, and line pages that grow when JSON-encoded: every case gets the server's
 * one JSON error shape, promptly.
 */
import http from 'node:http';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { rawExchange, rawJson, rawStatus, request } from './helpers/http-client.js';
import { startTestServer } from './helpers/server.js';

interface ErrorJson {
  error: { code: string; message: string };
}

/** Long enough that a head held back until the first keepalive shows as a failure, short of mocha's timeout. */
const KEEPALIVE_MS = 30_000;
const MAX_LINES_REPLY_BYTES = 64 * 1024;

describe('HTTP API: hardening', () => {
  let server: SpoolServer;
  before(async () => {
    server = await startTestServer({ httpSseKeepaliveMs: KEEPALIVE_MS, maxLinesReplyBytes: MAX_LINES_REPLY_BYTES });
  });
  after(() => server.close());

  const api = (p: string) => `${server.url}/api/v1${p}`;

  async function rawError(head: string): Promise<{ status: number; code: string }> {
    const text = await rawExchange(server.port, head);
    expect(text, 'an answer, not a dropped connection').to.match(/^HTTP\/1\.1 /);
    expect(text).to.match(/\r\nContent-Type: application\/json; charset=utf-8\r\n/i);
    return { status: rawStatus(text), code: rawJson<ErrorJson>(text).error.code };
  }

  describe("what Node's HTTP layer answers itself gets the JSON error shape", () => {
    it('an expectation other than 100-continue: 417 EXPECTATION_FAILED', async () => {
      expect(await rawError('GET /health HTTP/1.1\r\nHost: x\r\nExpect: foo\r\n\r\n')).to.deep.equal({
        status: 417,
        code: 'EXPECTATION_FAILED',
      });
    });

    it('an HTTP/1.1 request without Host: 400 INVALID_MESSAGE (HTTP/1.0 needs none)', async () => {
      expect(await rawError('GET /health HTTP/1.1\r\n\r\n')).to.deep.equal({ status: 400, code: 'INVALID_MESSAGE' });
      expect(rawStatus(await rawExchange(server.port, 'GET /health HTTP/1.0\r\n\r\n'))).to.equal(200);
    });

    it('CONNECT: 501 NOT_IMPLEMENTED instead of a dropped connection', async () => {
      expect(await rawError('CONNECT * HTTP/1.1\r\nHost: x\r\n\r\n')).to.deep.equal({ status: 501, code: 'NOT_IMPLEMENTED' });
      expect(await rawError('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\nTLS bytes')).to.deep.equal({
        status: 501,
        code: 'NOT_IMPLEMENTED',
      });
    });

    it('a Transfer-Encoding not ending in chunked: 400 before any route runs, nothing created', async () => {
      for (const head of [
        'GET /no-such-route HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\n',
        'GET /no-such-route HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nbody',
        'PUT /api/v1/uploads/gzip-te.log HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\nbody',
      ]) {
        expect(await rawError(head), head).to.deep.equal({ status: 400, code: 'INVALID_MESSAGE' });
      }
      expect(await server.core.list({ filenamePrefix: 'gzip-te.log' })).to.have.length(0);
    });

    it('a transfer coding besides chunked: 501 NOT_IMPLEMENTED (the bytes would be stored still encoded)', async () => {
      const head =
        'PUT /api/v1/uploads/gzip-chunked.log HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n';
      expect(await rawError(head)).to.deep.equal({ status: 501, code: 'NOT_IMPLEMENTED' });
      expect(await server.core.list({ filenamePrefix: 'gzip-chunked.log' })).to.have.length(0);
    });

    it('an answer is sent even when the parser fails on the body in the same moment as a route answers', async () => {
      // The route's 404 and the bad chunk size race: whichever wins, the client reads a JSON answer, never a dropped connection.
      const head = 'GET /no-such-route HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n';
      expect(await rawError(head)).to.deep.be.oneOf([
        { status: 404, code: 'NOT_FOUND' },
        { status: 400, code: 'INVALID_MESSAGE' },
      ]);
    });
  });

  describe('event streams and follow send their head at once', () => {
    /** The status and headers of `url`'s response; fails if they wait for the first keepalive. */
    function head(url: string): Promise<{ status: number; contentType: string | undefined }> {
      return new Promise((resolve, reject) => {
        const req = http.get(url, { agent: false }, (res) => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'] });
          req.destroy();
        });
        const timer = setTimeout(() => {
          req.destroy();
          reject(new Error(`no response head from ${url} before the keepalive interval`));
        }, KEEPALIVE_MS);
        req.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
    }

    it('the events of an upload context with no resources yet', async () => {
      expect(await head(api('/contexts/nobody-uploads-here/events'))).to.deep.equal({
        status: 200,
        contentType: 'text/event-stream; charset=utf-8',
      });
    });

    it("a resource's events, and following a resource with no bytes yet", async () => {
      const created = await request(api('/resources?filename=empty.log'), { method: 'POST' });
      const { id } = created.json<{ id: string }>();
      expect((await head(api(`/resources/${id}/events`))).status).to.equal(200);
      expect(await head(api(`/resources/${id}/content?follow=1`))).to.deep.equal({
        status: 200,
        contentType: 'text/plain; charset=utf-8',
      });
    });
  });

  describe('line pages are bounded by what is sent: a JSON array of strings', () => {
    const LINE_BYTES = 2000;
    const controlLine = `${'\x01'.repeat(LINE_BYTES)}\n`;
    let id: string;
    before(async () => {
      // 20 lines, 40 KB raw (under the limit), each 12 KB as a JSON string (`\u0001` × 2000).
      const res = await request(api('/uploads/control.log'), { method: 'PUT', body: controlLine.repeat(20) });
      expect(res.status).to.equal(201);
      id = res.json<{ id: string }>().id;
    });

    it('refuses a page whose JSON is over maxLinesReplyBytes though its bytes are not: 413, in either format', async () => {
      for (const format of ['json', 'text']) {
        const res = await request(api(`/resources/${id}/lines?start=0&count=20&format=${format}`));
        expect(res.status, format).to.equal(413);
        expect(res.json<ErrorJson>().error.code).to.equal('MESSAGE_TOO_LARGE');
      }
    });

    it('serves a page of such lines that fits', async () => {
      const res = await request(api(`/resources/${id}/lines?start=3&count=4`));
      expect(res.status).to.equal(200);
      expect(res.json<{ lines: string[] }>().lines).to.deep.equal(Array(4).fill('\x01'.repeat(LINE_BYTES)));
    });
  });
});
