/**
 * The web page in a real browser: Debian's chromium driven by playwright-core (never a
 * browser download). Each test writes a screenshot to test/screenshots/ for review.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { type Browser, chromium, type Page } from 'playwright-core';
import { CuttingProxy } from './helpers/cutting-proxy.js';
import { startTestServer } from './helpers/server.js';

const CHROMIUM = '/usr/bin/chromium';
const screenshots = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../screenshots');

async function createLive(server: SpoolServer, filename: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(`${server.url}/api/v1/resources`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ filename }),
  });
  return ((await response.json()) as { id: string }).id;
}

async function append(server: SpoolServer, id: string, offset: number, text: string): Promise<number> {
  const response = await fetch(`${server.url}/api/v1/resources/${id}/content`, {
    method: 'PATCH',
    headers: { 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' },
    body: text,
  });
  expect(response.status).to.be.oneOf([200, 204]);
  return offset + Buffer.byteLength(text);
}

describe('Web page (chromium)', function () {
  this.timeout(120_000);
  let browser: Browser | undefined;
  let server: SpoolServer;
  let page: Page;

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      // .ci/run installs Debian's chromium; only a machine where that failed gets here.
      console.log(`      pending: ${CHROMIUM} is missing (apt-get install chromium)`);
      this.skip();
    }
    mkdirSync(screenshots, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-background-networking'] });
    server = await startTestServer();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });
  beforeEach(async () => {
    page = await (browser as Browser).newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (err) => console.log('      page error:', err.message));
  });
  afterEach(async function () {
    const name = (this.currentTest?.title ?? 'test').replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60);
    await page.screenshot({ path: path.join(screenshots, `${name}.png`) }).catch(() => undefined);
    await page.close();
  });

  it('lists resources newest first with their state, and shows a FAILED one as failed', async () => {
    await fetch(`${server.url}/api/v1/names/web/first.log`, { method: 'PUT', body: 'one\n' });
    const failed = await createLive(server, 'broken.log');
    await append(server, failed, 0, 'half\n');
    await fetch(`${server.url}/api/v1/resources/${failed}/fail`, { method: 'POST' });
    await page.goto(`${server.url}/`);
    await page.waitForSelector(`#resources tr[data-id="${failed}"]`);
    const rows = await page.$$eval('#resources tbody tr', (trs) =>
      trs.map((tr) =>
        [...tr.children]
          .slice(0, 2)
          .map((td) => td.textContent)
          .join(' '),
      ),
    );
    expect(rows.slice(0, 2)).to.deep.equal(['broken.log FAILED', 'web/first.log COMPLETED']);
    await page.fill('#filter', 'first');
    expect(await page.$$eval('#resources tbody tr', (trs) => trs.length)).to.equal(1);
    await page.goto(`${server.url}/#/resources/${failed}`);
    await page.waitForSelector('#r-error:not([hidden])');
    expect(await page.textContent('#r-error')).to.match(/FAILED/);
  });

  it('offers a binary resource as a download', async () => {
    const put = await fetch(`${server.url}/api/v1/names/web/blob.bin`, { method: 'PUT', body: Buffer.from([0, 1, 2, 0xff, 0]) });
    const { id } = (await put.json()) as { id: string };
    await page.goto(`${server.url}/#/resources/${id}`);
    await page.waitForSelector('#binary:not([hidden])');
    expect(await page.isHidden('#log')).to.equal(true);
    const href = (await page.getAttribute('#binary-download', 'href')) as string;
    const download = await fetch(new URL(href, `${server.url}/`));
    expect(download.headers.get('content-disposition')).to.match(/^attachment/);
    expect(Buffer.from(await download.arrayBuffer())).to.deep.equal(Buffer.from([0, 1, 2, 0xff, 0]));
  });

  it('follows a live upload as it grows, with ANSI colours', async () => {
    const id = await createLive(server, 'live.log');
    let offset = await append(server, id, 0, 'start\n\u001b[31mred error\u001b[0m\n');
    await page.goto(`${server.url}/#/resources/${id}`);
    await page.waitForSelector('.line[data-line="2"] .fg31');
    expect(await page.textContent('#follow')).to.equal('Following');
    for (let round = 0; round < 3; round++) {
      const lines = Array.from({ length: 40 }, (_, i) => `round ${round} line ${i}\n`).join('');
      offset = await append(server, id, offset, lines);
    }
    // 122 lines, more than the viewer holds: following keeps the newest in view.
    await page.locator('.line[data-line="122"]', { hasText: 'round 2 line 39' }).waitFor({ timeout: 20_000 });
    // Scrolling up pauses following: new lines do not pull the view down.
    await page.mouse.move(400, 400);
    await page.mouse.wheel(0, -100_000);
    await page.waitForSelector('.line[data-line="1"]');
    expect(await page.textContent('#follow')).to.equal('Follow');
    offset = await append(server, id, offset, 'after the pause\n');
    await page.waitForSelector('#r-size >> text=123 lines');
    expect(await page.$('.line[data-line="1"]')).to.not.equal(null);
    expect(await page.$('.line[data-line="123"]')).to.equal(null);
    await fetch(`${server.url}/api/v1/resources/${id}/complete`, { method: 'POST' });
    await page.waitForSelector('#r-state .state-COMPLETED');
  });

  it('jumps to line 1,000,000 of a large log, fetching only the visible lines', async () => {
    const total = 1_200_000;
    async function* generated() {
      for (let start = 0; start < total; start += 10_000) {
        let chunk = '';
        for (let i = start; i < start + 10_000; i++) chunk += i % 1000 === 0 ? `\u001b[32mline ${i + 1}\u001b[0m\n` : `line ${i + 1}\n`;
        yield Buffer.from(chunk);
      }
    }
    const put = await fetch(`${server.url}/api/v1/names/web/huge.log`, {
      method: 'PUT',
      body: Readable.toWeb(Readable.from(generated())) as ReadableStream<Uint8Array>,
      duplex: 'half',
    } as RequestInit);
    const { id } = (await put.json()) as { id: string };
    const requested: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/lines?')) requested.push(request.url());
    });
    await page.goto(`${server.url}/#/resources/${id}`);
    await page.waitForSelector('.line[data-line="1"]');
    await page.fill('#jump', '1000000');
    await page.click('#jump-form button');
    await page.locator('.line[data-line="1000000"]', { hasText: 'line 1000000' }).waitFor();
    expect(await page.$eval('.line.target', (el) => el.textContent)).to.equal('1000000line 1000000');
    // A handful of pages of 200 lines, never the million lines before.
    expect(requested.length).to.be.below(10);
    await page.fill('#search', 'line 1000123');
    await page.click('#search-form button');
    await page.waitForSelector('.line.hit[data-line="1000123"]');
  });

  it('uploads a file with Uppy over tus and gives a shareable link', async () => {
    await page.goto(`${server.url}/`);
    await page.waitForSelector('.uppy-Dashboard-input', { state: 'attached' });
    await page.setInputFiles('.uppy-Dashboard-input >> nth=0', {
      name: 'dropped.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('dropped\nin the browser\n'),
    });
    await page.waitForSelector('#shared:not([hidden])', { timeout: 30_000 });
    const link = (await page.getAttribute('#shared-link', 'href')) as string;
    const id = decodeURIComponent(/#\/resources\/(.+)$/.exec(link)?.[1] ?? '');
    const content = await fetch(`${server.url}/api/v1/resources/${id}/content`);
    expect(await content.text()).to.equal('dropped\nin the browser\n');
    await page.goto(link);
    await page.locator('.line[data-line="2"]', { hasText: 'in the browser' }).waitFor();
    expect(await page.textContent('.line[data-line="2"]')).to.equal('2in the browser');
  });

  it('resumes an Uppy upload whose connection was cut (a network hiccup)', async () => {
    const MIB = 1024 * 1024;
    const proxy = await CuttingProxy.start({ targetPort: server.port, seed: 3, maxCuts: 1, minBytes: 2 * MIB, maxBytes: 4 * MIB });
    try {
      // More than maxBytes: the upload is cut wherever in [min, max] the cut falls.
      const text = Buffer.from(Array.from({ length: 360_000 }, (_, i) => `hiccup line ${i}\n`).join(''));
      await page.goto(`http://127.0.0.1:${proxy.port}/`);
      await page.waitForSelector('.uppy-Dashboard-input', { state: 'attached' });
      await page.setInputFiles('.uppy-Dashboard-input >> nth=0', { name: 'hiccup.log', mimeType: 'text/plain', buffer: text });
      await page.waitForSelector('#shared:not([hidden])', { timeout: 60_000 });
      expect(proxy.cuts).to.equal(1);
      const link = (await page.getAttribute('#shared-link', 'href')) as string;
      const id = decodeURIComponent(/#\/resources\/(.+)$/.exec(link)?.[1] ?? '');
      const content = Buffer.from(await (await fetch(`${server.url}/api/v1/resources/${id}/content`)).arrayBuffer());
      expect(content.equals(text)).to.equal(true);
    } finally {
      await proxy.close();
    }
  });

  describe('with access control on', () => {
    const ADMIN = 'admin-token-0123456789abcdef';
    let secured: SpoolServer;
    before(async () => {
      secured = await startTestServer({ authEnabled: true, apiTokens: `ops:admin:${ADMIN}` });
    });
    after(() => secured?.close());

    it('asks for a token, then lists with it', async () => {
      await fetch(`${secured.url}/api/v1/names/secret.log`, {
        method: 'PUT',
        body: 'secret\n',
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      await page.goto(`${secured.url}/`);
      await page.waitForSelector('#token-form:not([hidden])');
      await page.fill('#token-input', ADMIN);
      await page.click('#token-form button');
      await page.waitForSelector('#resources tbody tr');
      expect(await page.textContent('#resources tbody tr')).to.include('secret.log');
    });
  });
});
