/**
 * A full disk (simulated under the server's real files by FullDisk: appends fail with
 * ENOSPC once the space is used, catalog writes with SQLITE_FULL while none is left):
 * the uploader gets an error, followers see FAILED at once, the file is cut to the FAILED
 * size, DELETE still works, and a FAILED the catalog could not record is recorded once
 * space returns.
 */
import path from 'node:path';
import { FileByteStore, type SpoolServer, SqliteCatalog } from '@spool/server';
import { FullDisk } from '@spool/server/testing';
import { expect } from 'chai';
import { eventually, request, streamingRequest } from './helpers/http-client.js';
import { freshDataDir, startTestServer } from './helpers/server.js';
import { RawStepSocket } from './helpers/step-raw-client.js';

interface ErrorJson {
  error: { code: string; message: string };
}
interface StatusChanged {
  resourceStatus: { transferStatus: string; currentSize: number };
}

describe('A full disk', () => {
  let server: SpoolServer;
  let disk: FullDisk;
  let real: { store: FileByteStore; catalog: SqliteCatalog };
  let dataDir: string;
  beforeEach(async () => {
    dataDir = freshDataDir();
    real = { store: new FileByteStore(dataDir), catalog: new SqliteCatalog(path.join(dataDir, 'catalog.sqlite')) };
    disk = new FullDisk(real.store, real.catalog);
    server = await startTestServer({ dataDir, sweepIntervalMs: 50 }, { deps: { store: disk.store, catalog: disk.catalog } });
  });
  afterEach(() => server.close());

  const api = (p: string) => `${server.url}/api/v1${p}`;

  /** Starts a PUT of `first`, waits until it is visible, and follows the resource over Step. */
  async function uploadAndFollow(first: Buffer) {
    const put = streamingRequest(api('/uploads/build.log'));
    await put.write(first);
    const id = await eventually(async () => (await server.core.list({ filenamePrefix: 'build.log' }))[0]?.id);
    const follower = new RawStepSocket(`${server.wsUrl}/ws/streaming/download/${id}`);
    await follower.text(1);
    return { put, id, follower };
  }

  const failedFor = (follower: RawStepSocket) =>
    follower.waitFor<StatusChanged>((m) => (m as unknown as StatusChanged).resourceStatus?.transferStatus === 'FAILED', 5_000);

  it('a write that does not fit: the uploader gets ENOSPC, followers FAILED at once, the file ends at the FAILED size', async () => {
    disk.free = 20_000;
    const { put, id, follower } = await uploadAndFollow(Buffer.alloc(16_000, 'a'));
    await eventually(async () => ((await server.core.getStatus(id)).size === 16_000 ? true : undefined));
    await put.write(Buffer.alloc(16_000, 'b')).catch(() => undefined); // 4 000 bytes of it fit
    const failed = await failedFor(follower);
    expect(failed.resourceStatus.currentSize).to.equal(16_000);
    const res = await put.response;
    expect(res.status).to.equal(500);
    expect(res.json<ErrorJson>().error).to.include({ code: 'STORAGE_FAILURE' });
    expect(res.json<ErrorJson>().error.message).to.match(/ENOSPC/);
    expect(await real.store.size(id)).to.equal(16_000);
    follower.ws.close();
  });

  it('a catalog that cannot record: followers still see FAILED at once, DELETE works, FAILED is recorded once space returns', async () => {
    const done = await request(api('/uploads/old.log'), { method: 'PUT', body: Buffer.alloc(1_000, 'o') });
    const old = done.json<{ id: string }>().id;
    disk.free = 16_000; // the first write fits; recording it does not
    const { put, id, follower } = await uploadAndFollow(Buffer.alloc(16_000, 'a'));
    expect((await failedFor(follower)).resourceStatus.currentSize).to.equal(16_000);
    const res = await put.response;
    expect(res.json<ErrorJson>().error.message).to.match(/database or disk is full/);
    expect((await request(api(`/resources/${id}`))).json<{ state: string }>()).to.include({ state: 'FAILED' });
    expect(await real.catalog.get(id)).to.include({ state: 'INITIATED' });
    // Deleting frees space: the older resource's bytes go first, then its record.
    expect((await request(api(`/resources/${old}`), { method: 'DELETE' })).status).to.equal(204);
    expect(await real.catalog.get(old)).to.equal(undefined);
    await eventually(async () => ((await real.catalog.get(id))?.state === 'FAILED' ? true : undefined), 5_000, 'FAILED recorded');
    expect((await request(api(`/resources/${id}`), { method: 'DELETE' })).status).to.equal(204);
    expect([await real.catalog.get(id), await real.store.size(id)]).to.deep.equal([undefined, 0]);
    follower.ws.close();
  });
});
