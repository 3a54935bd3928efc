/**
 * Pipes met by path, piping-server's way, under /pipe/: either order, `?n=` receivers
 * (one of them slow), headers passed on, a browser form, CORS, the sender's progress
 * lines, refusals worded as piping-server words them, aborts on either side, real curl.
 */
import { request as httpRequest } from 'node:http';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { curl, eventually, hasCurl, pipedCurl, request, streamingRequest } from './helpers/http-client.js';
import { receive } from './helpers/receiver.js';
import { startTestServer } from './helpers/server.js';

describe('Pipe: piping-server style meeting by path', function () {
  this.timeout(30_000);
  let server: SpoolServer;
  let base: string;
  before(async () => {
    server = await startTestServer();
    base = `${server.url}/pipe`;
  });
  after(() => server.close());

  const pipes = async () => (await server.core.list()).filter((r) => r.attributes.protocol === 'pipe');

  it('sends to one receiver in either order, passing type, length and disposition; the sender reads the progress lines', async () => {
    for (const senderFirst of [true, false]) {
      const path = `${base}/order/${senderFirst}`;
      const body = Buffer.alloc(1024 * 1024 + 3, senderFirst ? 's' : 'r');
      const headers = { 'Content-Type': 'text/csv', 'Content-Disposition': 'attachment; filename="a.csv"', 'Content-Length': body.length };
      let sent: Promise<Awaited<ReturnType<typeof request>>>;
      let got: ReturnType<typeof receive>;
      if (senderFirst) {
        const sender = streamingRequest(path, { method: 'PUT', headers });
        sent = sender.response;
        await new Promise((r) => setTimeout(r, 50));
        got = receive(path);
        await sender.write(body);
        sender.end();
      } else {
        got = receive(path);
        await new Promise((r) => setTimeout(r, 50));
        sent = request(path, { method: 'PUT', headers, body });
      }
      const [up, down] = await Promise.all([sent, got]);
      expect(down.status).to.equal(200);
      expect(down.complete).to.equal(true);
      expect(down.body.equals(body)).to.equal(true);
      expect(down.headers['content-type']).to.equal('text/csv');
      expect(down.headers['content-length']).to.equal(String(body.length));
      expect(down.headers['content-disposition']).to.equal('attachment; filename="a.csv"');
      expect(down.headers['access-control-allow-origin']).to.equal('*');
      expect(down.headers['x-content-type-options']).to.equal('nosniff');
      expect(up.status).to.equal(200);
      const lines = up.text().split('\n');
      expect(lines[0]).to.equal('[INFO] Waiting for 1 receiver(s)...');
      expect(lines).to.include('[INFO] Start sending to 1 receiver(s)!');
      expect(lines).to.include('[INFO] Sent successfully!');
      expect(lines).to.include('[INFO] All receiver(s) was/were received successfully.');
      expect(
        lines.includes('[INFO] A receiver was connected.') || lines.includes('[INFO] 1 receiver(s) has/have been connected.'),
      ).to.equal(true);
    }
    // Nothing kept once the transfers ended.
    await eventually(async () => ((await pipes()).length === 0 ? true : undefined));
  });

  it('gives every one of n=3 receivers every byte, at the pace of the slowest', async () => {
    const path = `${base}/three?n=3`;
    const receivers = [receive(path), receive(path, { slow: true }), receive(path)];
    const body = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
    const up = await request(path, { method: 'POST', body, headers: { 'Content-Type': 'application/octet-stream' }, timeoutMs: 25_000 });
    expect(up.status).to.equal(200);
    expect(up.text()).to.include('[INFO] Start sending to 3 receiver(s)!');
    for (const got of await Promise.all(receivers)) {
      expect(got.complete).to.equal(true);
      expect(got.body.equals(body)).to.equal(true);
    }
  });

  it('refuses as piping-server does: n mismatch, n <= 0, a second sender, a receiver too many, a late receiver, reserved paths', async () => {
    const path = `${base}/busy`;
    const waiting = receive(`${path}?n=2`);
    await new Promise((r) => setTimeout(r, 50));
    const mismatch = await request(`${path}?n=3`);
    expect(mismatch.status).to.equal(400);
    expect(mismatch.text()).to.equal('[ERROR] The number of receivers should be 2 but 3.\n');
    expect(mismatch.headers['access-control-allow-origin']).to.equal('*');
    const zero = await request(`${base}/zero?n=0`, { method: 'PUT', body: 'x' });
    expect(zero.status).to.equal(400);
    expect(zero.text()).to.equal('[ERROR] n should > 0, but n = 0.\n');
    expect((await request(`${base}/many?n=100000`)).status).to.equal(400);
    expect((await request(`${base}/nan?n=abc`, { method: 'PUT', body: 'x' })).text()).to.equal('[ERROR] Invalid "n" query parameter\n');
    expect((await request(`${base}/nan?n=abc`)).text()).to.equal('[ERROR] Invalid query parameter "n"\n');
    const ranged = await request(`${base}/ranged`, { method: 'PUT', body: 'x', headers: { 'Content-Range': 'bytes 0-0/1' } });
    expect(ranged.status).to.equal(400);
    expect(ranged.text()).to.equal('[ERROR] Content-Range is not supported for now in PUT\n');

    const sender = streamingRequest(`${path}?n=2`, { method: 'PUT', headers: { 'Transfer-Encoding': 'chunked' } });
    await new Promise((r) => setTimeout(r, 50));
    const second = await request(`${path}?n=2`, { method: 'PUT', body: 'second' });
    expect(second.status).to.equal(400);
    expect(second.text()).to.equal("[ERROR] Another sender has been connected on '/busy'.\n");
    const other = receive(`${path}?n=2`);
    await eventually(async () => ((await pipes()).length === 1 ? true : undefined));
    const late = await request(`${path}?n=2`);
    expect(late.status).to.equal(400);
    expect(late.text()).to.equal("[ERROR] Connection on '/busy' has been established already.\n");
    sender.end('for two');
    expect((await waiting).body.toString()).to.equal('for two');
    expect((await other).body.toString()).to.equal('for two');

    const reserved = await request(`${base}/`, { method: 'PUT', body: 'x' });
    expect(reserved.status).to.equal(400);
    expect(reserved.text()).to.equal("[ERROR] Cannot send to the reserved path '/'. (e.g. '/mypath123')\n");
    const help = await request(`${base}/help`);
    expect(help.status).to.equal(200);
    expect(help.text()).to.include(`curl -T myfile ${base}/mypath`);
    const head = await request(`${base}/busy`, { method: 'HEAD' });
    expect(head.status).to.equal(405);
    const worker = await request(`${base}/sw`, { headers: { 'Service-Worker': 'script' } });
    expect(worker.status).to.equal(400);
  });

  it('refuses a receiver beyond n while the sender is missing', async () => {
    const path = `${base}/full?n=1`;
    const first = receive(path);
    await new Promise((r) => setTimeout(r, 50));
    const extra = await request(path);
    expect(extra.status).to.equal(400);
    expect(extra.text()).to.equal('[ERROR] The number of receivers has reached limits.\n');
    await request(path, { method: 'PUT', body: 'one' });
    expect((await first).body.toString()).to.equal('one');
  });

  it('sends the first file part of a browser form, with its type and name', async () => {
    const boundary = 'XyZ123';
    const form = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nignored\r\n`),
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="input_file"; filename="photo.png"\r\nContent-Type: image/png\r\n\r\n`,
      ),
      Buffer.alloc(200_000, 0x89),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const got = receive(`${base}/form`);
    await new Promise((r) => setTimeout(r, 50));
    const up = await request(`${base}/form`, {
      method: 'POST',
      body: form,
      headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
    });
    expect(up.status).to.equal(200);
    const down = await got;
    expect(down.complete).to.equal(true);
    expect(down.body.equals(Buffer.alloc(200_000, 0x89))).to.equal(true);
    expect(down.headers['content-type']).to.equal('image/png');
    expect(down.headers['content-disposition']).to.equal('attachment; filename="photo.png"');
  });

  it('answers a browser preflight so a page on another origin can send and receive', async () => {
    const res = await request(`${base}/cors`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://page.example', 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'content-type' },
    });
    expect(res.status).to.be.oneOf([200, 204]);
    expect(res.headers['access-control-allow-origin']).to.equal('*');
    expect(String(res.headers['access-control-allow-methods'])).to.include('PUT');
    const got = receive(`${base}/cors`, { headers: { Origin: 'https://page.example' } });
    await new Promise((r) => setTimeout(r, 50));
    await request(`${base}/cors`, { method: 'PUT', body: 'x', headers: { Origin: 'https://page.example' } });
    const down = await got;
    expect(down.headers['access-control-allow-origin']).to.equal('*');
    expect(String(down.headers['access-control-expose-headers'])).to.include('Content-Disposition');
  });

  it('cuts every receiver off when the sender aborts, and ends the sender when every receiver left', async () => {
    const path = `${base}/abort?n=2`;
    const a = receive(path);
    const b = receive(path);
    const sender = streamingRequest(path, { method: 'PUT', headers: { 'Content-Length': 10_000_000 } });
    await sender.write(Buffer.alloc(256 * 1024, 1));
    await eventually(async () => ((await pipes()).length === 1 ? true : undefined));
    sender.abort();
    for (const got of await Promise.all([a, b])) {
      expect(got.status).to.equal(200);
      expect(got.complete).to.equal(false);
    }
    await eventually(async () => ((await pipes()).length === 0 ? true : undefined));

    const leaving = httpRequest(`${base}/gone`, { agent: false }, (res) => res.once('data', () => res.destroy()));
    leaving.on('error', () => undefined);
    leaving.end();
    await new Promise((r) => setTimeout(r, 50));
    const sender2 = streamingRequest(`${base}/gone`, { method: 'PUT', headers: { 'Transfer-Encoding': 'chunked' } });
    await sender2.write(Buffer.alloc(64 * 1024, 2));
    const told = await sender2.response;
    expect(told.status).to.equal(200);
    expect(told.text()).to.include('[INFO] All receiver(s) was/were aborted halfway.');
  });

  it('frees the path when a waiting party leaves', async () => {
    const leaving = httpRequest(`${base}/free?n=2`, { agent: false });
    leaving.on('error', () => undefined);
    leaving.end();
    await new Promise((r) => setTimeout(r, 50));
    leaving.destroy();
    await new Promise((r) => setTimeout(r, 50));
    // A new meeting with another n is possible: nobody waits at the path any more.
    const got = receive(`${base}/free`);
    await new Promise((r) => setTimeout(r, 30));
    expect((await request(`${base}/free`, { method: 'PUT', body: 'fresh' })).status).to.equal(200);
    expect((await got).body.toString()).to.equal('fresh');
  });

  it('works with curl as piping-server users type it (curl -T file, curl URL), and curl sees an aborted sender', async function () {
    if (!hasCurl()) this.skip();
    const receiver = curl(['-f', `${base}/curl/file.bin`]);
    const data = Buffer.alloc(3 * 1024 * 1024, 'p');
    const sender = pipedCurl(['-f', '-T', '-', `${base}/curl/file.bin`]);
    await sender.write(data);
    sender.end();
    const [up, down] = await Promise.all([sender.result, receiver]);
    expect(up.code, up.stderr).to.equal(0);
    expect(up.stdout.toString()).to.include('[INFO] Sent successfully!');
    expect(down.code, down.stderr).to.equal(0);
    expect(down.stdout.equals(data)).to.equal(true);

    const cut = curl([`${base}/curl/cut`]);
    const aborting = streamingRequest(`${base}/curl/cut`, { method: 'PUT', headers: { 'Transfer-Encoding': 'chunked' } });
    await aborting.write(Buffer.alloc(100_000, 'q'));
    await eventually(async () => ((await pipes()).length === 1 ? true : undefined));
    aborting.abort();
    expect((await cut).code).to.equal(18);
  });
});
