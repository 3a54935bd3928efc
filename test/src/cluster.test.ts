/**
 * Several Spool server processes on one PostgreSQL (catalog, writer leases), one Redis
 * (events) and one shared directory (bytes), as docs/cluster.md deploys them, against the
 * real engines of this machine (CI starts them: .ci/run). Without sticky sessions: a
 * client that reconnects goes through a round-robin balancer to whichever node is up.
 */
import { request as httpRequest } from 'node:http';
import { PassThrough } from 'node:stream';
import { createDownloadClient, createUploadClient, type SpoolRemoteResource } from '@spool/impl-websocket';
import { TEST_POSTGRES_URL } from '@spool/server/testing';
import { expect } from 'chai';
import { Balancer } from './helpers/balancer.js';
import { exited } from './helpers/cli-process.js';
import { OwnRedis, portOf, TestCluster } from './helpers/cluster.js';
import { digestStream, GeneratedSource, MIB } from './helpers/generated-source.js';
import { request } from './helpers/http-client.js';

/** Patient enough for a node to die and the balancer to pick another, bounded all the same. */
const RECONNECT = { initialDelayMs: 100, maxDelayMs: 1_000, maxAttempts: 60, maxElapsedMs: 40_000 };

const resourceUri = (baseWsUrl: string, id: string) => `${baseWsUrl}/ws/spool/v1/resources/${id}`;

/** The resource's JSON as a node sees it. */
async function resourceOn(baseUrl: string, id: string): Promise<{ state: string; size: number; checksums?: Record<string, string> }> {
  return (await request(`${baseUrl}/api/v1/resources/${id}`)).json();
}

/** Waits until `check` holds (polling a node), bounded. */
async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A PATCH append whose body the test feeds piece by piece; `response` settles when the node answers (or the socket dies). */
function openAppend(baseUrl: string, id: string, offset: number) {
  const body = new PassThrough();
  const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = httpRequest(
      `${baseUrl}/api/v1/resources/${id}/content`,
      { method: 'PATCH', headers: { 'upload-offset': offset, 'content-type': 'application/octet-stream' }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    body.pipe(req);
  });
  return { body, response };
}

describe('Cluster: Spool server processes on PostgreSQL, Redis and a shared directory', function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  before(async () => {
    cluster = await TestCluster.create();
  });
  after(async () => {
    await cluster?.stop();
  });

  it('an upload on node A is followed live on nodes B and C, byte-exact, and readable on every node', async () => {
    const [a, b, c] = [await cluster.start(), await cluster.start(), await cluster.start()];
    const size = 24 * MIB;
    let followersIn: () => void = () => undefined;
    const followersReady = new Promise<void>((resolve) => {
      followersIn = resolve;
    });
    // The followers attach after the first MiB: they see the upload grow, not only its end.
    const source = new GeneratedSource(size, 15, (index) => (index === 1 ? followersReady : undefined));
    const upload = await createUploadClient(a.wsUrl, { sha256: true }).upload(source, { filename: 'cluster.bin' });
    const id = upload.reference.id;
    const followers = (await Promise.all(
      [b, c].map((node) => createDownloadClient().open(resourceUri(node.wsUrl, id))),
    )) as SpoolRemoteResource[];
    const followed = followers.map((follower) => digestStream(follower.follow()));
    followersIn();
    const result = await upload.complete();
    expect(result.sha256).to.equal(source.sha256);
    for (const digest of await Promise.all(followed)) expect(digest).to.deep.equal({ sha256: source.sha256, size });
    for (const follower of followers) await follower.close();
    for (const node of [a, b, c]) {
      const resource = await resourceOn(node.url, id);
      expect(resource).to.include({ state: 'COMPLETED', size });
      expect(resource.checksums).to.deep.equal(result.checksums);
    }
    const stored = await createDownloadClient().open(resourceUri(c.wsUrl, id));
    expect(await digestStream(stored.createReadStream())).to.deep.equal({ sha256: source.sha256, size });
    await stored.close();
  });

  it('kill -9 of the uploading node: the SDK uploader and a follower, through a balancer, resume on another node byte-exact', async () => {
    const nodes = [await cluster.start(), await cluster.start(), await cluster.start()];
    const balancer = await Balancer.start(nodes.map(portOf));
    try {
      balancer.prefer = 0;
      const victim = nodes[0];
      let followerIn: () => void = () => undefined;
      const followerReady = new Promise<void>((resolve) => {
        followerIn = resolve;
      });
      const size = 48 * MIB;
      const source = new GeneratedSource(size, 9, async (index) => {
        if (index !== 16) return;
        await followerReady;
        // Node A dies without a word; the balancer sends reconnects elsewhere.
        balancer.down.add(0);
        balancer.prefer = undefined;
        victim?.child.kill('SIGKILL');
      });
      const upload = await createUploadClient(balancer.wsUrl, { sha256: true, reconnect: RECONNECT }).upload(source, {
        filename: 'killed.bin',
      });
      balancer.prefer = 2;
      const follower = (await createDownloadClient({ reconnect: RECONNECT }).open(
        resourceUri(balancer.wsUrl, upload.reference.id),
      )) as SpoolRemoteResource;
      const following = digestStream(follower.follow());
      followerIn();
      const result = await upload.complete();
      await exited(victim?.child as NonNullable<typeof victim>['child']);
      expect(result).to.include({ size, sha256: source.sha256 });
      expect(result.reconnects).to.be.greaterThan(0);
      expect(await following).to.deep.equal({ sha256: source.sha256, size });
      await follower.close();
      const survivor = nodes[1] as (typeof nodes)[number];
      const resource = await resourceOn(survivor.url, upload.reference.id);
      expect(resource).to.include({ state: 'COMPLETED', size });
      expect(resource.checksums).to.deep.equal(result.checksums);
    } finally {
      await balancer.close();
    }
  });

  it('kill -9 during an HTTP append: the next append goes on at the visible offset on another node', async () => {
    const [a, b] = [await cluster.start(), await cluster.start()];
    const created = (await request(`${a.url}/api/v1/resources?filename=append.log`, { method: 'POST' })).json<{ id: string }>();
    const first = Buffer.alloc(3 * MIB, 'a');
    const append = openAppend(a.url, created.id, 0);
    append.response.catch(() => undefined);
    append.body.write(first);
    await eventually(async () => (await resourceOn(b.url, created.id)).size === first.length, 'the first part visible on B');
    a.child.kill('SIGKILL');
    await exited(a.child);
    // B takes the upload over at once (A's node lock died with it) at the visible offset.
    const offset = (await resourceOn(b.url, created.id)).size;
    const rest = Buffer.alloc(MIB, 'b');
    const done = await request(`${b.url}/api/v1/resources/${created.id}/content`, {
      method: 'PATCH',
      headers: { 'upload-offset': offset, 'upload-complete': '?1' },
      body: rest,
    });
    expect(done.status, done.text()).to.equal(200);
    const content = await request(`${b.url}/api/v1/resources/${created.id}/content`);
    expect(content.body.equals(Buffer.concat([first.subarray(0, offset), rest]))).to.equal(true);
  });

  it('a paused writer is fenced out: its node wakes after another took the upload over, and nothing it writes counts', async () => {
    const [a, b] = [await cluster.start(), await cluster.start()];
    const created = (await request(`${a.url}/api/v1/resources?filename=append.log`, { method: 'POST' })).json<{ id: string }>();
    const append = openAppend(a.url, created.id, 0);
    const answered = append.response.then(
      (r) => r,
      (err: Error) => ({ status: 0, text: err.message }),
    );
    append.body.write(Buffer.from('written on A\n'));
    await eventually(async () => (await resourceOn(b.url, created.id)).size === 13, 'A’s bytes visible');
    a.child.kill('SIGSTOP');
    // A no longer renews its lease: after its TTL (1.5 s) B may take the upload over.
    let taken: { status: number; text(): string } | undefined;
    await eventually(async () => {
      taken = await request(`${b.url}/api/v1/resources/${created.id}/content`, {
        method: 'PATCH',
        headers: { 'upload-offset': 13 },
        body: Buffer.from('written on B\n'),
      });
      return taken.status === 200;
    }, 'B taking the upload over');
    a.child.kill('SIGCONT');
    // A wakes and goes on writing on its old lease.
    append.body.write(Buffer.from('STALE BYTES FROM A\n'));
    append.body.end();
    const stale = await answered;
    expect([0, 409]).to.include(stale.status);
    if (stale.status === 409) expect(stale.text).to.match(/WRITER_CONFLICT/);
    await eventually(async () => /another writer took the resource over|writer lease lost/.test(a.stderr()), 'A noticing');
    const finished = await request(`${b.url}/api/v1/resources/${created.id}/complete`, { method: 'POST' });
    expect(finished.status, finished.text()).to.equal(200);
    for (const node of [a, b]) {
      const content = await request(`${node.url}/api/v1/resources/${created.id}/content`);
      expect(content.text()).to.equal('written on A\nwritten on B\n');
    }
  });
});

describe('Cluster: Redis restarted while a follower on another node follows', function () {
  this.timeout(120_000);
  let redis: OwnRedis;
  let cluster: TestCluster;
  before(async () => {
    redis = await OwnRedis.start();
    cluster = await TestCluster.create({ SPOOL_REDIS_URL: redis.url });
  });
  after(async () => {
    await cluster?.stop();
    await redis?.kill();
  });

  it('the follower gets every byte and the end: status is re-read when Redis is back, nothing lost', async () => {
    const [a, b] = [await cluster.start(), await cluster.start()];
    const size = 16 * MIB;
    let followerIn: () => void = () => undefined;
    const followerReady = new Promise<void>((resolve) => {
      followerIn = resolve;
    });
    const source = new GeneratedSource(size, 21, async (index) => {
      if (index === 1) await followerReady;
      if (index === 6) {
        await redis.kill();
        // The upload goes on while Redis is away: checkpoints are recorded in PostgreSQL.
        await new Promise((r) => setTimeout(r, 300));
      }
      if (index === 10) await redis.restart();
    });
    const upload = await createUploadClient(a.wsUrl, { sha256: true }).upload(source, { filename: 'redis.bin' });
    const follower = (await createDownloadClient().open(resourceUri(b.wsUrl, upload.reference.id))) as SpoolRemoteResource;
    const following = digestStream(follower.follow());
    followerIn();
    const result = await upload.complete();
    expect(result.sha256).to.equal(source.sha256);
    expect(await following).to.deep.equal({ sha256: source.sha256, size });
    await follower.close();
    expect(b.stderr()).to.match(/Redis subscriber reconnected/);
    // Both nodes still share status after the restart.
    const again = await createUploadClient(a.wsUrl).upload(new GeneratedSource(MIB, 3), { filename: 'after.bin' });
    const later = await createDownloadClient().open(resourceUri(b.wsUrl, again.reference.id));
    const followedLater = digestStream(later.follow());
    await again.complete();
    expect((await followedLater).size).to.equal(MIB);
    await later.close();
  });
});

describe('Cluster: PostgreSQL lost while a node runs', function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let link: Balancer;
  before(async () => {
    // The node reaches PostgreSQL through a link the test can cut and restore.
    link = await Balancer.start([Number(new URL(TEST_POSTGRES_URL).port) || 5432]);
    cluster = await TestCluster.create();
  });
  after(async () => {
    await cluster?.stop();
    await link?.close();
  });

  it('the uploader and readers get clear errors, and the node serves again once PostgreSQL is back', async () => {
    const viaLink = new URL(cluster.env.SPOOL_DATABASE_URL as string);
    viaLink.port = new URL(link.url).port;
    const node = await cluster.start({ SPOOL_DATABASE_URL: viaLink.toString() });
    const body = new PassThrough();
    const uploading = request(`${node.url}/api/v1/uploads/lost.log`, { method: 'PUT', body });
    body.write('before the outage\n');
    const id = await (async () => {
      for (let i = 0; i < 400; i++) {
        const listed = (await request(`${node.url}/api/v1/resources?prefix=lost`)).json<{ resources: { id: string; size: number }[] }>();
        const found = listed.resources.find((r) => r.size === 18);
        if (found) return found.id;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error('the upload never became visible');
    })();
    link.down.add(0);
    link.cutAll();
    body.write('during the outage\n');
    const answer = await uploading;
    expect(answer.status, answer.text()).to.equal(500);
    expect(answer.json<{ error: { code: string } }>().error.code).to.equal('STORAGE_FAILURE');
    // A reader needing the catalog meanwhile: an error saying why, not a hang.
    const read = await request(`${node.url}/api/v1/resources/${id}`);
    expect(read.status, read.text()).to.equal(500);
    expect(read.json<{ error: { code: string; message: string } }>().error).to.include({ code: 'STORAGE_FAILURE' });
    expect(read.json<{ error: { message: string } }>().error.message).to.match(/PostgreSQL unavailable/);
    link.down.delete(0);
    // Back: the FAILED end (kept in memory) is recorded, and new uploads work.
    await eventually(async () => {
      const after = await request(`${node.url}/api/v1/uploads/after.log`, { method: 'PUT', body: 'ok\n' });
      return after.status === 201 || after.status === 200;
    }, 'an upload after the outage');
    // The FAILED end kept in memory during the outage is recorded by the next sweep, with
    // every byte the node had accepted readable: the second line too if it arrived before
    // the first checkpoint failed.
    await eventually(async () => (await resourceOn(node.url, id)).state === 'FAILED', 'FAILED recorded');
    const failed = await resourceOn(node.url, id);
    expect(failed.size).to.be.oneOf([18, 36]);
    const content = (await request(`${node.url}/api/v1/resources/${id}/content`)).text();
    expect(content).to.equal('before the outage\nduring the outage\n'.slice(0, failed.size));
  });
});
