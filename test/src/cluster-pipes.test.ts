/**
 * Pipes across the nodes of a cluster (docs/cluster.md, "Pipes across nodes"): separate
 * server processes on the real PostgreSQL and Redis of this machine; a sender on one node
 * and its receivers on others meet through the node owning the meeting point, in either
 * order, for `/pipe/` and the http-rendezvous API, byte-exact; the owner killed
 * mid-transfer is an error on every side, never a clean end.
 */
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { type CliServer, exited } from './helpers/cli-process.js';
import { OwnRedis, TestCluster } from './helpers/cluster.js';
import { GeneratedSource, MIB } from './helpers/generated-source.js';
import { eventually, request } from './helpers/http-client.js';
import { type Received, receive } from './helpers/receiver.js';

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** What a sender got back: its status, the text it read, and whether its answer ended cleanly. */
interface Sent {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  complete: boolean;
}

/**
 * A PUT streaming `body`; `answered` settles once the first bytes of the answer came (a
 * pipe sender's `[INFO] Waiting…`: it is registered at its node), `done` when the answer
 * ended or was cut off (a socket error counts as cut off).
 */
function send(url: string, body: Buffer | Readable, headers: Record<string, string | number> = {}) {
  let firstBytes: () => void = () => undefined;
  const answered = new Promise<void>((resolve) => {
    firstBytes = resolve;
  });
  const done = new Promise<Sent>((resolve) => {
    const chunks: Buffer[] = [];
    let status = 0;
    let answerHeaders: IncomingHttpHeaders = {};
    const finish = (complete: boolean) => resolve({ status, headers: answerHeaders, text: Buffer.concat(chunks).toString(), complete });
    const req = httpRequest(url, { method: 'PUT', headers, agent: false }, (res) => {
      status = res.statusCode ?? 0;
      answerHeaders = res.headers;
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        firstBytes();
      });
      res.on('end', () => finish(true));
      res.on('aborted', () => finish(false));
      res.on('error', () => finish(false));
    });
    req.on('error', () => finish(false));
    if (Buffer.isBuffer(body)) req.end(body);
    else body.pipe(req);
  });
  return { answered, done };
}

/** The node whose log says it ran the transfer (the owner of the meeting point). */
function ranTransfer(node: CliServer, meetingPoint: string): boolean {
  return node
    .stderr()
    .split('\n')
    .some((line) => line.includes('"pipe started"') && line.includes(`"meetingPoint":"${meetingPoint}"`));
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Cluster: pipes across nodes (sender on one node, receivers on others)', function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let a: CliServer;
  let b: CliServer;
  let c: CliServer;
  before(async () => {
    cluster = await TestCluster.create();
    [a, b, c] = [await cluster.start(), await cluster.start(), await cluster.start()];
  });
  after(async () => {
    await cluster?.stop();
  });

  it('/pipe/: a sender on A and a receiver on B meet in either order, byte-exact, with the sender headers and progress lines', async () => {
    for (const senderFirst of [true, false]) {
      const path = `/cross/${senderFirst ? 'sender-first' : 'receiver-first'}`;
      const body = randomBytes(6 * MIB + 11);
      const headers = {
        'Content-Type': 'text/csv',
        'Content-Length': body.length,
        'Content-Disposition': 'attachment; filename="x.csv"',
        'X-Piping': 'from A',
      };
      let sent: ReturnType<typeof send>;
      let got: Promise<Received>;
      if (senderFirst) {
        sent = send(`${a.url}/pipe${path}`, body, headers);
        await sent.answered;
        got = receive(`${b.url}/pipe${path}`);
      } else {
        got = receive(`${b.url}/pipe${path}`);
        await pause(300);
        sent = send(`${a.url}/pipe${path}`, body, headers);
      }
      const [up, down] = await Promise.all([sent.done, got]);
      expect(down.status).to.equal(200);
      expect(down.complete).to.equal(true);
      expect(sha(down.body)).to.equal(sha(body));
      expect(down.headers).to.include({
        'content-type': 'text/csv',
        'content-length': String(body.length),
        'content-disposition': 'attachment; filename="x.csv"',
        'x-piping': 'from A',
      });
      expect(up.status).to.equal(200);
      expect(up.complete).to.equal(true);
      const lines = up.text.split('\n');
      expect(lines[0]).to.equal('[INFO] Waiting for 1 receiver(s)...');
      expect(lines).to.include('[INFO] Start sending to 1 receiver(s)!');
      expect(lines).to.include('[INFO] All receiver(s) was/were received successfully.');
      // The first to arrive made its node the owner: the transfer ran there, once.
      const [owner, other] = senderFirst ? [a, b] : [b, a];
      expect(ranTransfer(owner, path), 'ran on the first party’s node').to.equal(true);
      expect(ranTransfer(other, path), 'not on the other node').to.equal(false);
    }
  });

  it('/pipe/?n=2: a sender on A, receivers on B and C, every receiver gets every byte', async () => {
    const path = '/cross/two';
    const body = randomBytes(4 * MIB + 5);
    const first = receive(`${b.url}/pipe${path}?n=2`);
    await pause(200);
    const sent = send(`${a.url}/pipe${path}?n=2`, body);
    await sent.answered;
    const second = receive(`${c.url}/pipe${path}?n=2`);
    const [up, ...downs] = await Promise.all([sent.done, first, second]);
    for (const down of downs) {
      expect(down.complete).to.equal(true);
      expect(sha(down.body)).to.equal(sha(body));
    }
    expect(up.text).to.include('[INFO] Start sending to 2 receiver(s)!');
    expect(up.text).to.include('[INFO] All receiver(s) was/were received successfully.');
    // A third receiver on yet another node is refused by the owner, worded as on one node.
    const refusedPath = '/cross/full';
    const waiting = receive(`${b.url}/pipe${refusedPath}`);
    await pause(200);
    const extra = await request(`${c.url}/pipe${refusedPath}?n=2`);
    expect(extra.status).to.equal(400);
    expect(extra.text()).to.equal('[ERROR] The number of receivers should be 1 but 2.\n');
    const closing = send(`${a.url}/pipe${refusedPath}`, Buffer.from('bye'));
    expect((await waiting).body.toString()).to.equal('bye');
    expect((await closing.done).complete).to.equal(true);
  });

  it('rendezvous: a stream created on A, its PUT on B and its GET on C, in either order, byte-exact; status on any node', async () => {
    for (const putFirst of [true, false]) {
      const created = await request(`${a.url}/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ download_headers: { 'Content-Type': 'application/x-test' } }),
      });
      expect(created.status).to.equal(201);
      const id = created.json<{ stream: string }>().stream;
      const body = randomBytes(5 * MIB + 3);
      let sent: ReturnType<typeof send>;
      let got: Promise<Received>;
      if (putFirst) {
        sent = send(`${b.url}/stream/${id}`, body);
        await pause(300);
        got = receive(`${c.url}/stream/${id}`);
      } else {
        got = receive(`${c.url}/stream/${id}`);
        await pause(300);
        sent = send(`${b.url}/stream/${id}`, body);
      }
      const [up, down] = await Promise.all([sent.done, got]);
      expect(down.status).to.equal(200);
      expect(down.complete).to.equal(true);
      expect(down.headers['content-type']).to.equal('application/x-test');
      expect(sha(down.body)).to.equal(sha(body));
      expect(up.status).to.equal(200);
      const status = await request(`${b.url}/stream/${id}/status`);
      expect(status.json()).to.include({ id, state: 'FINISHED', bytes_transferred: body.length });
      expect(ranTransfer(a, id)).to.equal(true);
    }
    // An unknown stream is 404 on any node, as on one.
    const unknown = await request(`${b.url}/stream/00000000-0000-0000-0000-000000000000/status`);
    expect(unknown.status).to.equal(404);
    expect(unknown.json()).to.include({ name: 'SessionNotFoundError' });
  });

  it('a reported error reaches the waiting side on another node', async () => {
    const id = (await request(`${a.url}/stream`, { method: 'POST' })).json<{ stream: string }>().stream;
    const waiting = receive(`${b.url}/stream/${id}`);
    await pause(300);
    const report = await request(`${c.url}/stream/${id}/error`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ http_status: 418, name: 'TeapotError', message: 'short and stout' }),
    });
    expect(report.status).to.equal(200);
    const got = await waiting;
    expect(got.status).to.equal(418);
    expect(JSON.parse(got.body.toString())).to.deep.equal({ name: 'TeapotError', message: 'short and stout' });
  });

  it('rendezvous: GET /stream on any node lists the streams of every node, oldest first', async () => {
    const ids: string[] = [];
    for (const node of [a, b, c]) {
      const created = await request(`${node.url}/stream`, { method: 'POST' });
      ids.push(created.json<{ stream: string }>().stream);
    }
    for (const node of [a, b, c]) {
      const listed = await request(`${node.url}/stream`);
      expect(listed.status).to.equal(200);
      expect(listed.headers['spool-unreachable-nodes']).to.equal(undefined);
      const streams = listed.json<{ id: string; state: string; created_at: string }[]>();
      const ours = streams.filter((stream) => ids.includes(stream.id));
      expect(ours.map((stream) => stream.id)).to.deep.equal(ids);
      expect(ours.every((stream) => stream.state === 'CREATED')).to.equal(true);
      const created = streams.map((stream) => stream.created_at);
      expect(created).to.deep.equal([...created].sort());
    }
    // Asked as by another node, a node lists its own streams only.
    const own = await request(`${b.url}/stream`, { headers: { 'x-spool-forwarded-from': a.url } });
    const listed = own.json<{ id: string }[]>().map((stream) => stream.id);
    expect(listed).to.include(ids[1]);
    expect(listed).to.not.include(ids[0]);
    expect(listed).to.not.include(ids[2]);
  });

  it('with access control: the owner checks the client’s own token again; the forwarding mark grants nothing', async () => {
    const UPLOADER = 'uploader-token-0123456789';
    const READER = 'reader-token-0123456789';
    const auth = { SPOOL_AUTH_ENABLED: 'true', SPOOL_API_TOKENS: `up:uploader:${UPLOADER},rd:reader:${READER}` };
    const [x, y] = [await cluster.start(auth), await cluster.start(auth)];
    const path = '/cross/auth';
    const body = randomBytes(MIB);
    const got = receive(`${y.url}/pipe${path}`, { headers: { authorization: `Bearer ${READER}` } });
    await pause(300);
    // The reader may receive but not send: refused on its own node before any hop.
    const notAllowed = await request(`${x.url}/pipe${path}`, { method: 'PUT', headers: { authorization: `Bearer ${READER}` }, body });
    expect(notAllowed.status).to.equal(403);
    // Straight to the owner with the forwarding mark and no token: the owner's access rules refuse it.
    const marked = await request(`${y.url}/pipe${path}`, { method: 'PUT', headers: { 'x-spool-forwarded-from': x.url }, body });
    expect(marked.status).to.equal(401);
    const sent = send(`${x.url}/pipe${path}?token=${UPLOADER}`, body);
    const [up, down] = await Promise.all([sent.done, got]);
    expect(up.text).to.include('[INFO] All receiver(s) was/were received successfully.');
    expect(sha(down.body)).to.equal(sha(body));
    expect(ranTransfer(y, path)).to.equal(true);
  });

  it('Redis away: a new party gets a clear error (nothing half-met); pipes meet across nodes again once it is back', async () => {
    const redis = await OwnRedis.start();
    const own = await TestCluster.create({ SPOOL_REDIS_URL: redis.url });
    try {
      const [x, y] = [await own.start(), await own.start()];
      await redis.kill();
      const refused = await request(`${x.url}/pipe/cross/no-redis`);
      expect(refused.status).to.equal(500);
      expect(refused.text()).to.match(/^\[ERROR\] STORAGE_FAILURE: Redis is unreachable: cannot tell which node holds this meeting point/);
      await redis.restart();
      const body = randomBytes(MIB);
      // A sender asking for n=0 is refused by the meeting, past the claim: 400 once a node reaches Redis again, 500 before.
      for (const node of [x, y]) {
        await eventually(
          async () => ((await request(`${node.url}/pipe/cross/probe?n=0`, { method: 'PUT', body: 'x' })).status === 400 ? true : undefined),
          20_000,
          'the node reaching Redis again',
        );
      }
      const got = receive(`${y.url}/pipe/cross/redis-back`);
      await pause(300);
      const sent = send(`${x.url}/pipe/cross/redis-back`, body);
      const [up, down] = await Promise.all([sent.done, got]);
      expect(down.complete).to.equal(true);
      expect(sha(down.body)).to.equal(sha(body));
      expect(up.text).to.include('[INFO] All receiver(s) was/were received successfully.');
      expect(ranTransfer(y, '/cross/redis-back')).to.equal(true);
    } finally {
      await own.stop();
      await redis.kill();
    }
  });

  describe('the owner node killed mid-transfer', () => {
    let nodes: CliServer[];
    beforeEach(async () => {
      nodes = [await cluster.start(), await cluster.start(), await cluster.start()];
    });

    /** A body of `size` bytes that kills `victim` (SIGKILL) once `killAfter` MiB went out. */
    function killingBody(victim: CliServer, size: number, killAfter: number): Readable {
      const source = new GeneratedSource(size, 3, async (index) => {
        if (index !== killAfter) return;
        victim.child.kill('SIGKILL');
        await exited(victim.child);
      });
      return Readable.from(source);
    }

    it('/pipe/: the receiver on another node sees an aborted body, the sender an error; the path works again', async () => {
      const [owner, senderNode, receiverNode] = nodes as [CliServer, CliServer, CliServer];
      const path = '/cross/killed';
      // The receiver waits first on the owner-to-be, so the transfer runs there.
      const ownerParty = receive(`${owner.url}/pipe${path}?n=2`);
      await pause(300);
      const far = receive(`${receiverNode.url}/pipe${path}?n=2`);
      const sent = send(`${senderNode.url}/pipe${path}?n=2`, killingBody(owner, 64 * MIB, 32));
      const [up, down] = await Promise.all([sent.done, far]);
      await ownerParty.catch(() => undefined);
      expect(down.status).to.equal(200);
      expect(down.complete, 'the receiver’s body is cut off, not ended').to.equal(false);
      expect(down.body.length, 'bytes flowed before the kill')
        .to.be.greaterThan(0)
        .and.lessThan(64 * MIB);
      expect(up.complete, 'the sender’s answer is cut off').to.equal(false);
      expect(up.text).to.not.include('Sent successfully');
      // The dead owner still holds the path in Redis: the next party finds nothing there and takes it over.
      const body = randomBytes(MIB);
      const again = receive(`${receiverNode.url}/pipe${path}`);
      await pause(300);
      const resent = send(`${senderNode.url}/pipe${path}`, body);
      const [up2, down2] = await Promise.all([resent.done, again]);
      expect(down2.complete).to.equal(true);
      expect(sha(down2.body)).to.equal(sha(body));
      expect(up2.text).to.include('[INFO] All receiver(s) was/were received successfully.');
    });

    it('rendezvous: the GET on another node sees an aborted body, the PUT an error (502 or a cut connection)', async () => {
      const [owner, senderNode, receiverNode] = nodes as [CliServer, CliServer, CliServer];
      const id = (await request(`${owner.url}/stream`, { method: 'POST' })).json<{ stream: string }>().stream;
      const got = receive(`${receiverNode.url}/stream/${id}`);
      await pause(300);
      const sent = send(`${senderNode.url}/stream/${id}`, killingBody(owner, 64 * MIB, 32));
      const [up, down] = await Promise.all([sent.done, got]);
      expect(down.status).to.equal(200);
      expect(down.complete).to.equal(false);
      expect(down.body.length, 'bytes flowed before the kill')
        .to.be.greaterThan(0)
        .and.lessThan(64 * MIB);
      expect(up.status === 502 || !up.complete, `sender saw ${up.status} ${up.text}`).to.equal(true);
      if (up.status === 502) expect(JSON.parse(up.text)).to.include({ name: 'NodeUnreachableError' });
      // The dead node still holds the stream in Redis: a list leaves it out and names the node.
      const listed = await request(`${receiverNode.url}/stream`);
      expect(listed.status).to.equal(200);
      expect(listed.headers['spool-unreachable-nodes']).to.equal(owner.url);
      expect(listed.json<{ id: string }[]>().map((stream) => stream.id)).to.not.include(id);
      // The stream lived on the dead node: another node says it is gone.
      const status = await request(`${senderNode.url}/stream/${id}/status`);
      expect(status.status).to.equal(404);
    });
  });
});
