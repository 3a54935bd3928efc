/**
 * Resource names (issue 13, item 1): an uploader chooses a path-like name, and every read
 * path takes it wherever it takes an id — so a follower can start with the name alone,
 * before the upload's first byte, as the README's first example does with two curls.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createDownloadClient,
  createUploadClient,
  ErrorCode,
  growingFile,
  SpoolDownloadClient,
  type SpoolError,
} from '@spool/impl-websocket';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { curl, eventually, getJson, hasCurl, logLines, pipedCurl, request } from './helpers/http-client.js';
import { startTestServer } from './helpers/server.js';
import { RawStepSocket } from './helpers/step-raw-client.js';

interface ResourceJson {
  id: string;
  name: string | null;
  state: string;
  size: number;
  mimeType: string;
  supportsLineAccess: boolean;
  writeToken?: string;
  readToken?: string;
}

const errorCode = (body: { error: { code: string } }) => body.error.code;

describe('Resource names: every read path takes the name wherever it takes an id', () => {
  let server: SpoolServer;
  let api: string;
  before(async () => {
    server = await startTestServer();
    api = `${server.url}/api/v1`;
  });
  after(() => server.close());

  it("README's first example: `./build.sh | curl -T - …/names/ci/1234/build.log`, followed by name from a second curl that starts before the first byte", async function () {
    if (!hasCurl()) this.skip();
    const dir = mkdtempSync(path.join(tmpdir(), 'spool-names-'));
    const uploader = pipedCurl(['-T', '-', `${api}/names/ci/1234/build.log`]);
    // The build has printed nothing yet, and the resource is there, under its name.
    const before = await eventually(async () => {
      const res = await request(`${api}/resources/ci%2F1234%2Fbuild.log`);
      return res.status === 200 ? res.json<ResourceJson>() : undefined;
    });
    expect(before).to.include({ name: 'ci/1234/build.log', size: 0, mimeType: 'text/plain', supportsLineAccess: true });
    const headers = path.join(dir, 'follower-headers');
    const follower = curl(['-N', '-D', headers, `${api}/names/ci/1234/build.log?follow=1`]);
    // The follower's answer has begun at offset 0: it started before the first byte.
    await eventually(() => (/^Upload-Offset: 0\r?$/m.test(safeRead(headers)) ? true : undefined), 10_000, 'follower headers');
    const log = logLines(300);
    for (let at = 0; at < log.length; at += 700) await uploader.write(log.slice(at, at + 700));
    uploader.end();
    const uploaded = await uploader.result;
    expect(uploaded.code, uploaded.stderr).to.equal(0);
    expect(JSON.parse(uploaded.stdout.toString())).to.include({ name: 'ci/1234/build.log', state: 'COMPLETED', size: log.length });
    const followed = await follower;
    expect(followed.code, followed.stderr).to.equal(0);
    expect(followed.stdout.toString()).to.equal(log);
    expect(safeRead(headers)).to.match(/^Spool-Name: ci\/1234\/build\.log\r?$/m);
  });

  it('GET /api/v1/names/{name} is the content (ranges, tail, progressive text); /resources/{name with %2F} the metadata, lines and events', async () => {
    const log = logLines(50);
    const put = await request(`${api}/uploads/run.log?name=team/run/7.log`, { method: 'PUT', body: log });
    expect(put.status).to.equal(201);
    const created = put.json<ResourceJson>();
    expect(created.name).to.equal('team/run/7.log');
    expect(put.headers['spool-name']).to.equal('team/run/7.log');

    expect((await request(`${api}/names/team/run/7.log`)).text()).to.equal(log);
    const ranged = await request(`${api}/names/team/run/7.log`, { headers: { Range: 'bytes=0-9' } });
    expect([ranged.status, ranged.text()]).to.deep.equal([206, log.slice(0, 10)]);
    const byName = await getJson<ResourceJson>(`${api}/resources/team%2Frun%2F7.log`);
    expect(byName).to.include({ id: created.id, name: 'team/run/7.log' });
    const lines = await getJson<{ id: string; lines: string[] }>(`${api}/resources/team%2Frun%2F7.log/lines?tail=2`);
    expect(lines).to.deep.include({ id: created.id, lines: log.split('\n').slice(48, 50) });
    const events = await request(`${api}/resources/team%2Frun%2F7.log/events`);
    expect(events.text()).to.contain(`"id":"${created.id}"`).and.contain('event: end');
    // An id still works everywhere, and an unknown name is a 404 like an unknown id.
    expect((await request(`${api}/resources/${created.id}/content`)).text()).to.equal(log);
    const unknown = await request(`${api}/names/team/run/8.log`);
    expect([unknown.status, errorCode(unknown.json())]).to.deep.equal([404, 'RESOURCE_NOT_FOUND']);
  });

  it('a name is held by one live resource (409 NAME_TAKEN); once it ended, the name passes to the newest upload', async () => {
    const first = await request(`${api}/uploads/a.log?name=jobs/a&complete=0`, { method: 'PUT', body: 'one\n' });
    expect(first.status).to.equal(201);
    const taken = await request(`${api}/uploads/a.log?name=jobs/a`, { method: 'PUT', body: 'two\n' });
    expect([taken.status, errorCode(taken.json())]).to.deep.equal([409, 'NAME_TAKEN']);
    const { id } = first.json<ResourceJson>();
    expect((await request(`${api}/resources/${id}/complete`, { method: 'POST' })).status).to.equal(200);
    const second = await request(`${api}/names/jobs/a`, { method: 'PUT', body: 'three\n' });
    expect(second.status).to.equal(201);
    expect(second.json<ResourceJson>().id).to.not.equal(id);
    expect((await request(`${api}/names/jobs/a`)).text()).to.equal('three\n');
    const bad = await request(`${api}/uploads/a.log?name=bad//name`, { method: 'PUT', body: 'x' });
    expect([bad.status, errorCode(bad.json())]).to.deep.equal([400, 'INVALID_METADATA']);
  });

  it('every upload door takes a name: Spool-Name, a JSON description, a form field (for the next file only), the SDK', async () => {
    const header = await request(`${api}/uploads/h.log`, { method: 'PUT', body: 'h\n', headers: { 'Spool-Name': 'doors/header' } });
    expect(header.json<ResourceJson>().name).to.equal('doors/header');
    const json = await request(`${api}/resources`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ filename: 'j.log', name: 'doors/json' }),
    });
    expect(json.json<ResourceJson>()).to.include({ name: 'doors/json', state: 'INITIATED' });
    const boundary = 'xyz';
    const form = [
      `--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\ndoors/form\r\n`,
      `--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="a.log"\r\n\r\na\n\r\n`,
      `--${boundary}\r\nContent-Disposition: form-data; name="g"; filename="b.log"\r\n\r\nb\n\r\n`,
      `--${boundary}--\r\n`,
    ].join('');
    const posted = await request(`${api}/resources`, {
      method: 'POST',
      headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
      body: form,
    });
    expect(posted.status).to.equal(201);
    expect(posted.json<{ resources: ResourceJson[] }>().resources.map((r) => r.name)).to.deep.equal(['doors/form', null]);

    const upload = await createUploadClient(server.url).upload(Buffer.from('sdk\n'), { filename: 's.log', name: 'doors/sdk' });
    expect(upload.reference.name).to.equal('doors/sdk');
    await upload.complete();
    expect((await request(`${api}/names/doors/sdk`)).text()).to.equal('sdk\n');
    // The Step protocol cannot carry a name: the SDK says so before connecting.
    const step = await createUploadClient(server.url, { protocol: 'step' })
      .upload(Buffer.from('x'), { filename: 'x.log', name: 'doors/step' })
      .catch((e: unknown) => e);
    expect((step as SpoolError).code).to.equal(ErrorCode.INVALID_METADATA);
  });

  it('the WebSocket paths and the SDK open by name: a follower started before the first byte gets every line; the Step path takes the name too', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spool-names-sdk-'));
    const file = path.join(dir, 'build.log');
    const upload = await createUploadClient(server.url).upload(growingFile(file, { pollIntervalMs: 10 }), { name: 'ci/sdk/build.log' });
    const downloads = new SpoolDownloadClient({ url: server.url });
    const resource = await downloads.open('ci/sdk/build.log');
    // Opened by name, it knows its id (and reconnects by it).
    expect(resource.id).to.equal(upload.reference.id);
    expect(resource.status.size).to.equal(0);
    const lines: string[] = [];
    const following = (async () => {
      for await (const line of resource.followLines()) lines.push(line);
    })();
    const written = logLines(100);
    await appendFile(file, written);
    await upload.complete();
    await following;
    expect(lines).to.deep.equal(written.split('\n').slice(0, -1));
    await resource.close();

    const byStep = await createDownloadClient({ protocol: 'step', url: server.url }).open({ name: 'ci/sdk/build.log' });
    expect((await byStep.readRange(0, byStep.status.size)).toString()).to.equal(written);
    await byStep.close();
    // The raw Step download path, as a Java client would use it.
    const raw = new RawStepSocket(`${server.wsUrl}/ws/streaming/download/ci/sdk/build.log`);
    await raw.opened();
    const status = await raw.text(1);
    expect(status).to.deep.equal({
      '@': 'StatusChanged',
      resourceStatus: { transferStatus: 'COMPLETED', currentSize: written.length, numberOfLines: 100 },
    });
    raw.ws.close();
  });
});

describe('Resource names under access control: the rule resolves the name', () => {
  const UPLOADER = 'uploader-token-0123456789abcd';
  let server: SpoolServer;
  let api: string;
  before(async () => {
    server = await startTestServer({ authEnabled: true, apiTokens: `ci:uploader:${UPLOADER}` });
    api = `${server.url}/api/v1`;
  });
  after(() => server.close());

  it("a read token opens its resource by name, and not another resource by that one's name", async () => {
    const put = (name: string) =>
      request(`${api}/names/${name}`, { method: 'PUT', body: `${name}\n`, headers: { Authorization: `Bearer ${UPLOADER}` } });
    const mine = (await put('acl/mine.log')).json<ResourceJson>();
    await put('acl/other.log');
    const asReader = (url: string) => request(url, { headers: { Authorization: `Bearer ${mine.readToken}` } });
    expect((await asReader(`${api}/names/acl/mine.log`)).text()).to.equal('acl/mine.log\n');
    expect((await asReader(`${api}/resources/acl%2Fmine.log/lines`)).status).to.equal(200);
    const other = await asReader(`${api}/names/acl/other.log`);
    expect([other.status, errorCode(other.json())]).to.deep.equal([403, 'FORBIDDEN']);
    // A name nobody holds is refused like an unknown id (403), telling nothing about which names exist.
    expect((await asReader(`${api}/names/acl/nobody.log`)).status).to.equal(403);
    expect((await request(`${api}/names/acl/mine.log`)).status).to.equal(401);
    const sdk = await new SpoolDownloadClient({ url: server.url, headers: { authorization: `Bearer ${mine.readToken}` } }).open({
      name: 'acl/mine.log',
    });
    expect(sdk.id).to.equal(mine.id);
    await sdk.close();
  });
});

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
