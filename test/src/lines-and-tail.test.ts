/**
 * `tail -n` and one rule for lines (issue 13, items 2 and 9): the last N lines over HTTP
 * and the SDK, following from there (`?follow=1&tail=N`, `followLines({ tail })`), line
 * pages with their byte offsets, and one numbering and page rule everywhere — line
 * indexes from 0, lines without their terminator, a page past the end empty, never an error.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDownloadClient, createUploadClient, type RemoteResource } from '@spool/impl-websocket';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { curl, eventually, getJson, hasCurl, pipedCurl, request } from './helpers/http-client.js';
import { startTestServer } from './helpers/server.js';

interface LinePage {
  start: number;
  count: number;
  totalLines: number;
  more: boolean;
  startOffset: number;
  endOffset: number;
  lines: string[];
}

const numbered = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `line ${from + i} ${'é'.repeat((from + i) % 5)}`);

describe('tail -n and one rule for lines, over HTTP and the SDK', () => {
  let server: SpoolServer;
  let api: string;
  /** 600 lines, \r\n on every 7th, and a last line without terminator. */
  let text: string;
  let lines: string[];
  let id: string;
  before(async () => {
    server = await startTestServer();
    api = `${server.url}/api/v1`;
    lines = numbered(0, 600);
    text = `${lines.map((line, i) => `${line}${i % 7 === 0 ? '\r\n' : '\n'}`).join('')}tail end`;
    lines.push('tail end');
    const put = await request(`${api}/uploads/lines.log`, { method: 'PUT', body: text });
    id = put.json<{ id: string }>().id;
  });
  after(() => server.close());

  /** Byte offset where line `index` starts in `text`. */
  const offsetOf = (index: number) => {
    let at = 0;
    for (let line = 0; line < index; line++) at = text.indexOf('\n', at) + 1;
    return Buffer.byteLength(text.slice(0, at));
  };

  it('lines?tail=N: the last N lines, with the byte offsets of the page; start=-N is refused, naming tail', async () => {
    const page = await getJson<LinePage>(`${api}/resources/${id}/lines?tail=5`);
    expect(page).to.deep.include({ start: 596, count: 5, totalLines: 601, more: false, lines: lines.slice(596) });
    expect(page.startOffset).to.equal(offsetOf(596));
    expect(page.endOffset).to.equal(Buffer.byteLength(text));
    const middle = await getJson<LinePage>(`${api}/resources/${id}/lines?start=255&count=3`);
    expect([middle.startOffset, middle.endOffset]).to.deep.equal([offsetOf(255), offsetOf(258)]);
    const textPage = await request(`${api}/resources/${id}/lines?tail=2&format=text`);
    expect(textPage.headers).to.include({
      'spool-lines-start': '599',
      'spool-lines-start-offset': String(offsetOf(599)),
      'spool-lines-end-offset': String(Buffer.byteLength(text)),
    });
    const negative = await request(`${api}/resources/${id}/lines?start=-5`);
    expect(negative.status).to.equal(400);
    expect(negative.json<{ error: { message: string } }>().error.message).to.match(/tail=5/);
    expect((await request(`${api}/resources/${id}/lines?tail=5&start=1`)).status).to.equal(400);
  });

  it('content?tail=N: the bytes of the last N lines (progressive text, polled on from X-Text-Size)', async function () {
    const res = await request(`${api}/resources/${id}/content?tail=3`);
    expect(res.text()).to.equal(Buffer.from(text).subarray(offsetOf(598)).toString());
    expect(res.headers['x-text-size']).to.equal(String(Buffer.byteLength(text)));
    if (!hasCurl()) this.skip();
    const viaCurl = await curl(['--fail', `${api}/resources/${id}/content?tail=1`]);
    expect(viaCurl.stdout.toString()).to.equal('tail end');
  });

  it('curl -N "…?follow=1&tail=2" on a growing log: the last 2 whole lines, then every new one, to a clean end', async function () {
    if (!hasCurl()) this.skip();
    const uploader = pipedCurl(['-T', '-', `${api}/names/tail/growing.log`]);
    await uploader.write('a\nb\nc\nd\npartial');
    await eventually(async () => {
      const res = await request(`${api}/resources/tail%2Fgrowing.log`);
      return res.status === 200 && res.json<{ lines: number }>().lines === 4 ? true : undefined;
    });
    const headers = path.join(mkdtempSync(path.join(tmpdir(), 'spool-tail-')), 'headers');
    const follower = curl(['-N', '-D', headers, `${api}/names/tail/growing.log?follow=1&tail=2`]);
    // Its answer began (tail resolved) before the log grows on.
    await eventually(() => (existsSync(headers) && /Spool-State/.test(readFileSync(headers, 'utf8')) ? true : undefined));
    await uploader.write(' line\ne\n');
    uploader.end();
    expect((await uploader.result).code).to.equal(0);
    const followed = await follower;
    expect(followed.code, followed.stderr).to.equal(0);
    // A growing log's unterminated last line is no line yet: the last 2 whole ones, then the rest.
    expect(followed.stdout.toString()).to.equal('c\nd\npartial line\ne\n');
  });

  it('one page rule, the same over HTTP and both SDK protocols: indexes from 0, no terminators, short or empty at the end', async () => {
    const clients: RemoteResource[] = [
      await createDownloadClient({ url: server.url }).open({ id }),
      await createDownloadClient({ protocol: 'step', url: server.url }).open({ id }),
    ];
    const cases: [number, number][] = [
      [0, 3],
      [250, 10],
      [598, 10],
      [601, 5],
      [700, 51],
    ];
    for (const [start, count] of cases) {
      const http = await getJson<LinePage>(`${api}/resources/${id}/lines?start=${start}&count=${count}`);
      expect(http.lines, `HTTP ${start}+${count}`).to.deep.equal(lines.slice(start, start + count));
      for (const client of clients) expect(await client.readLines(start, count), `SDK ${start}+${count}`).to.deep.equal(http.lines);
    }
    const httpTail = await getJson<LinePage>(`${api}/resources/${id}/lines?tail=4`);
    for (const client of clients) {
      expect(await client.readLines({ tail: 4 })).to.deep.equal(httpTail.lines);
      const followed: string[] = [];
      for await (const line of client.followLines({ tail: 4 })) followed.push(line);
      expect(followed).to.deep.equal(httpTail.lines);
      await client.close();
    }
  });

  it('followLines({ tail }) on a growing upload: the last lines, then the rest as it comes (SDK, Spool protocol)', async () => {
    const upload = await createUploadClient(server.url).upload(
      (async function* () {
        yield 'one\ntwo\nthree\n';
        await new Promise((resolve) => setTimeout(resolve, 300));
        yield 'four\n';
      })(),
      { filename: 'sdk-tail.log', name: 'tail/sdk' },
    );
    const resource = await createDownloadClient({ url: server.url }).open('tail/sdk');
    await resource.waitForStatus((status) => (status.lines ?? 0) >= 3);
    const seen: string[] = [];
    for await (const line of resource.followLines({ tail: 1 })) seen.push(line);
    await upload.complete();
    expect(seen).to.deep.equal(['three', 'four']);
    await resource.close();
  });
});
