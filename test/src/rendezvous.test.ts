/**
 * The http-rendezvous API at the server root, over real HTTP with a short wait: every
 * route and status of the sheet (../shared/specs/rendezvous.md), both connection
 * orders, aborts on either side at every phase, and none of the original's defects.
 */
import { request as httpRequest } from 'node:http';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { curl, eventually, hasCurl, pipedCurl, request, streamingRequest } from './helpers/http-client.js';
import { receive } from './helpers/receiver.js';
import { startTestServer } from './helpers/server.js';

const WAIT_MS = 600;

interface SessionJson {
  id: string;
  state: string;
  bytes_transferred: number;
  download_headers: Record<string, string>;
  upload_headers: Record<string, string>;
  created_at: string;
}

describe('Rendezvous: the http-rendezvous API', function () {
  this.timeout(30_000);
  let server: SpoolServer;
  let base: string;
  before(async () => {
    server = await startTestServer({ rendezvousWaitMs: WAIT_MS, rendezvousKeepEndedMs: 2_000 });
    base = server.url;
  });
  after(() => server.close());

  const create = async (body?: unknown) => {
    const res = await request(`${base}/stream`, {
      method: 'POST',
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }),
    });
    expect(res.status, res.text()).to.equal(201);
    const { stream } = res.json<{ stream: string }>();
    expect(stream).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    return stream;
  };
  const status = async (id: string) => (await request(`${base}/stream/${id}/status`)).json<SessionJson>();

  it('answers GET /ping with pong', async () => {
    const res = await request(`${base}/ping`);
    expect(res.status).to.equal(200);
    expect(res.text()).to.equal('pong');
  });

  it('pipes a PUT into a GET with the requested headers, PUT first then GET first', async () => {
    for (const putFirst of [true, false]) {
      const id = await create({
        download_headers: { 'Content-Type': 'text/csv', 'Content-Disposition': 'attachment; filename="my.csv"' },
        upload_headers: { Location: 'http://new/path/to/my.csv' },
      });
      const payload = Buffer.alloc(3 * 1024 * 1024 + 17, putFirst ? 'a' : 'b');
      let put: Promise<Awaited<ReturnType<typeof request>>>;
      let get: ReturnType<typeof receive>;
      if (putFirst) {
        put = request(`${base}/stream/${id}`, { method: 'PUT', body: payload });
        await eventually(async () => ((await status(id)).state === 'SRC_CONNECTED' ? true : undefined));
        get = receive(`${base}/stream/${id}`);
      } else {
        get = receive(`${base}/stream/${id}`);
        await eventually(async () => ((await status(id)).state === 'DST_CONNECTED' ? true : undefined));
        put = request(`${base}/stream/${id}`, { method: 'PUT', body: payload });
      }
      const [up, down] = await Promise.all([put, get]);
      expect(down.status).to.equal(200);
      expect(down.complete).to.equal(true);
      expect(down.headers['content-type']).to.equal('text/csv');
      expect(down.headers['content-disposition']).to.equal('attachment; filename="my.csv"');
      expect(down.headers['transfer-encoding']).to.equal('chunked');
      expect(down.body.equals(payload)).to.equal(true);
      expect(up.status).to.equal(200);
      expect(up.body.length).to.equal(0);
      expect(up.headers.location).to.equal('http://new/path/to/my.csv');
      const ended = await status(id);
      expect(ended).to.include({ id, state: 'FINISHED', bytes_transferred: payload.length });
      expect(ended.download_headers).to.deep.equal({ 'Content-Type': 'text/csv', 'Content-Disposition': 'attachment; filename="my.csv"' });
    }
  });

  it('refuses bad bodies of POST /stream with InvalidBodyError', async () => {
    const post = (body: string) => request(`${base}/stream`, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
    const bad = await post('{nope');
    expect(bad.status).to.equal(400);
    expect(bad.headers['content-type']).to.match(/^application\/json/);
    expect(bad.json<{ name: string; message: string }>().name).to.equal('InvalidBodyError');
    expect(bad.json<{ message: string }>().message).to.match(/^Invalid JSON: /);
    const name = await post(JSON.stringify({ download_headers: { 'Bad Name': 'x' } }));
    expect(name.status).to.equal(400);
    expect(name.json()).to.deep.equal({ name: 'InvalidBodyError', message: 'Not a valid HTTP header name: Bad Name' });
    const value = await post(JSON.stringify({ upload_headers: { 'X-Ok': 'line\nbreak' } }));
    expect(value.status).to.equal(400);
    expect(value.json()).to.deep.equal({ name: 'InvalidBodyError', message: 'Not a valid HTTP header value: "line\\nbreak"' });
    for (const body of [
      '[]',
      '"text"',
      JSON.stringify({ download_headers: ['x'] }),
      JSON.stringify({ download_headers: { A: { b: 1 } } }),
    ]) {
      expect((await post(body)).status, body).to.equal(400);
    }
    // No body at all, or an empty one, creates a stream.
    expect((await request(`${base}/stream`, { method: 'POST' })).status).to.equal(201);
    expect((await post('')).status).to.equal(201);
  });

  it('answers 404 SessionNotFoundError for unknown ids, and BadRouteError for a wrong method', async () => {
    for (const [method, path] of [
      ['GET', '/stream/nope'],
      ['PUT', '/stream/nope'],
      ['GET', '/stream/nope/status'],
      ['POST', '/stream/nope/error'],
    ] as const) {
      const res = await request(`${base}${path}`, { method, ...(method === 'PUT' ? { body: 'x' } : {}) });
      expect(res.status, `${method} ${path}`).to.equal(404);
      expect(res.json<{ name: string }>().name).to.equal('SessionNotFoundError');
    }
    expect((await request(`${base}/stream/nope`, { method: 'HEAD' })).status).to.equal(405);
    const wrong = await request(`${base}/stream`, { method: 'DELETE' });
    expect(wrong.status).to.equal(405);
    expect(wrong.json<{ name: string }>().name).to.equal('BadRouteError');
  });

  it('answers a duplicate side 429, then the wait running out 504 to the waiting side (the original crashed here)', async () => {
    for (const side of ['GET', 'PUT'] as const) {
      const id = await create();
      const first =
        side === 'GET'
          ? request(`${base}/stream/${id}`)
          : streamingRequest(`${base}/stream/${id}`, { method: 'PUT', headers: { 'Content-Length': 5 } }).response;
      await eventually(async () => ((await status(id)).state !== 'CREATED' ? true : undefined));
      const dup = await request(`${base}/stream/${id}`, { method: side, ...(side === 'PUT' ? { body: 'dup' } : {}) });
      expect(dup.status).to.equal(429);
      expect(dup.json<{ name: string }>().name).to.equal('AlreadyConnectedError');
      const timedOut = await first;
      expect(timedOut.status).to.equal(504);
      expect(timedOut.json<{ name: string }>().name).to.equal('SessionTimeoutError');
      expect((await status(id)).state).to.equal(side === 'GET' ? 'TIMEOUT_NO_SRC' : 'TIMEOUT_NO_DST');
      // A side arriving after the timeout is told the same.
      expect(
        (await request(`${base}/stream/${id}`, { method: side === 'GET' ? 'PUT' : 'GET', body: side === 'GET' ? 'x' : undefined })).status,
      ).to.equal(504);
    }
    // The server is still up.
    expect((await request(`${base}/ping`)).status).to.equal(200);
  });

  it('times out a stream nobody connected to, and forgets ended streams after a while', async () => {
    const id = await create();
    await eventually(async () => ((await status(id)).state === 'TIMEOUT_NO_SRC_NO_DST' ? true : undefined));
    await eventually(async () => ((await request(`${base}/stream/${id}/status`)).status === 404 ? true : undefined), 5_000);
  });

  it('delivers a reported error to the waiting side and to a side arriving later (defect 1)', async () => {
    const waiting = await create();
    const get = request(`${base}/stream/${waiting}`);
    await eventually(async () => ((await status(waiting)).state === 'DST_CONNECTED' ? true : undefined));
    const report = await request(`${base}/stream/${waiting}/error`, {
      method: 'POST',
      body: JSON.stringify({ http_status: 404, name: 'FileNotFoundError', message: "File 'path/to/myfile.csv' does not exist" }),
      headers: { 'Content-Type': 'application/json' },
    });
    expect(report.status).to.equal(200);
    const got = await get;
    expect(got.status).to.equal(404);
    expect(got.json()).to.deep.equal({ name: 'FileNotFoundError', message: "File 'path/to/myfile.csv' does not exist" });
    expect((await status(waiting)).state).to.equal('CLIENT_ERROR');

    const later = await create();
    expect((await request(`${base}/stream/${later}/error`, { method: 'POST', body: '{"http_status": 403}' })).status).to.equal(200);
    const put = await request(`${base}/stream/${later}`, { method: 'PUT', body: 'never sent' });
    expect(put.status).to.equal(403);
    expect(put.json<{ name: string }>().name).to.equal('ClientError');
  });

  it('accepts an empty error report (defect 5) and refuses a non-numeric http_status with 400 (defect 3)', async () => {
    const id = await create();
    for (const body of ['{"http_status": "abc"}', '{"http_status": 99}', '{"http_status": 404.5}', '{"name": 5}', '{bad', '[1]']) {
      const res = await request(`${base}/stream/${id}/error`, { method: 'POST', body });
      expect(res.status, body).to.equal(400);
      expect(res.json<{ name: string }>().name).to.equal('InvalidBodyError');
    }
    expect((await status(id)).state).to.equal('CREATED');
    expect((await request(`${base}/stream/${id}/error`, { method: 'POST' })).status).to.equal(200);
    const get = await request(`${base}/stream/${id}`);
    expect(get.status).to.equal(400);
    expect(get.json<{ name: string }>().name).to.equal('ClientError');
    expect((await request(`${base}/ping`)).status).to.equal(200);
  });

  it('refuses an error report once both sides are connected (409 StreamStartedError)', async () => {
    const id = await create();
    const put = streamingRequest(`${base}/stream/${id}`, { method: 'PUT', headers: { 'Transfer-Encoding': 'chunked' } });
    const get = receive(`${base}/stream/${id}`);
    await eventually(async () => ((await status(id)).state === 'STREAMING' ? true : undefined));
    const late = await request(`${base}/stream/${id}/error`, { method: 'POST', body: '{}' });
    expect(late.status).to.equal(409);
    expect(late.json<{ name: string }>().name).to.equal('StreamStartedError');
    put.end('done');
    expect((await get).body.toString()).to.equal('done');
    expect((await put.response).status).to.equal(200);
  });

  it('cuts the GET off, never a clean end, when the PUT aborts mid-stream (defect 4); 502 to a PUT whose GET left', async () => {
    const id = await create();
    const put = streamingRequest(`${base}/stream/${id}`, { method: 'PUT', headers: { 'Content-Length': 1_000_000 } });
    const get = receive(`${base}/stream/${id}`);
    await put.write(Buffer.alloc(64 * 1024, 'x'));
    await eventually(async () => ((await status(id)).bytes_transferred > 0 ? true : undefined));
    put.abort();
    const cut = await get;
    expect(cut.status).to.equal(200);
    expect(cut.complete).to.equal(false);
    await eventually(async () => ((await status(id)).state === 'SRC_DISCONNECTED' ? true : undefined));

    const other = await create();
    const put2 = streamingRequest(`${base}/stream/${other}`, { method: 'PUT', headers: { 'Transfer-Encoding': 'chunked' } });
    const leaving = httpRequest(`${base}/stream/${other}`, { agent: false }, (res) => {
      res.once('data', () => res.destroy());
    });
    leaving.on('error', () => undefined);
    leaving.end();
    await put2.write(Buffer.alloc(64 * 1024, 'y'));
    await eventually(async () => ((await status(other)).state === 'DST_DISCONNECTED' ? true : undefined));
    const refused = await put2.response;
    expect(refused.status).to.equal(502);
    expect(refused.json<{ name: string }>().name).to.equal('StreamDestinationError');
  });

  it('frees the place of a side that leaves before the pair formed', async () => {
    const id = await create();
    const leaving = httpRequest(`${base}/stream/${id}`, { agent: false });
    leaving.on('error', () => undefined);
    leaving.end();
    await eventually(async () => ((await status(id)).state === 'DST_CONNECTED' ? true : undefined));
    leaving.destroy();
    await eventually(async () => ((await status(id)).state === 'CREATED' ? true : undefined));
    const get = receive(`${base}/stream/${id}`);
    const put = await request(`${base}/stream/${id}`, { method: 'PUT', body: 'second try' });
    expect(put.status).to.equal(200);
    expect((await get).body.toString()).to.equal('second try');
  });

  it('lists streams on GET /stream, and each is a core resource while it streams (nothing kept after)', async () => {
    const id = await create({ download_headers: { 'Content-Type': 'text/plain' } });
    const put = streamingRequest(`${base}/stream/${id}`, { method: 'PUT', headers: { 'Transfer-Encoding': 'chunked' } });
    const get = receive(`${base}/stream/${id}`);
    await put.write('first part ');
    await eventually(async () => ((await status(id)).state === 'STREAMING' ? true : undefined));
    const listed = (await request(`${base}/stream`)).json<(SessionJson & { resource_id: string })[]>();
    const mine = listed.find((s) => s.id === id);
    expect(mine?.state).to.equal('STREAMING');
    // The pair forms (STREAMING) before its core resource is registered: wait for the id.
    const resourceId = await eventually(
      async () => ((await status(id)) as SessionJson & { resource_id: string | null }).resource_id ?? undefined,
    );
    const record = await server.core.getRecord(resourceId);
    expect(record.state).to.equal('INITIATED');
    expect(record.attributes).to.include({ protocol: 'rendezvous', meetingPoint: id, storage: 'pass-through' });
    put.end('last part');
    expect((await get).body.toString()).to.equal('first part last part');
    await put.response;
    await eventually(async () => ((await server.core.list()).some((r) => r.id === resourceId) ? undefined : true));
  });

  it('works with curl as its README shows it', async function () {
    if (!hasCurl()) this.skip();
    const made = await curl(['-X', 'POST', `${base}/stream`]);
    const id = (JSON.parse(made.stdout.toString()) as { stream: string }).stream;
    const sender = pipedCurl(['-f', '-X', 'PUT', '-T', '-', `${base}/stream/${id}`]);
    const receiver = curl(['-f', `${base}/stream/${id}`]);
    const data = Buffer.alloc(2 * 1024 * 1024, 'c');
    await sender.write(data);
    sender.end();
    const [put, get] = await Promise.all([sender.result, receiver]);
    expect(put.code, put.stderr).to.equal(0);
    expect(get.code, get.stderr).to.equal(0);
    expect(get.stdout.equals(data)).to.equal(true);
  });

  it('makes an aborted sender visible to curl as a failed transfer', async function () {
    if (!hasCurl()) this.skip();
    const id = await create();
    const put = streamingRequest(`${base}/stream/${id}`, { method: 'PUT', headers: { 'Transfer-Encoding': 'chunked' } });
    const receiver = curl([`${base}/stream/${id}`]);
    await put.write(Buffer.alloc(100_000, 'z'));
    await eventually(async () => ((await status(id)).bytes_transferred > 0 ? true : undefined));
    put.abort();
    const got = await receiver;
    expect(got.code).to.equal(18);
    expect(got.stdout.length).to.be.at.most(100_000);
  });
});
