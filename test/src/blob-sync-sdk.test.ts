/** The blob-sync SDK (`BlobClient` of @spool/impl-http) against the real server. */
import { ErrorCode, type SpoolError } from '@spool/common';
import { BlobClient } from '@spool/impl-http';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { startTestServer } from './helpers/server.js';

const ALICE = 'alice-token-0123456789abcdef';
const BOB = 'bob-token-0123456789abcdefgh';

describe('BlobClient (SDK) against the server', () => {
  let server: SpoolServer;
  let alice: BlobClient;
  before(async () => {
    server = await startTestServer({ authEnabled: true, apiTokens: `alice:uploader:${ALICE},bob:uploader:${BOB}` });
    alice = new BlobClient({ url: `${server.url}/blob-sync/`, user: 'alice', token: ALICE, namespace: 'sdk', retry: { maxRetries: 0 } });
  });
  after(() => server.close());

  it('puts, gets (whole and a range), flags, lists, counts and deletes one blob at a time', async () => {
    await alice.put('note-1', 'the first note, encrypted');
    await alice.put('note-2', Buffer.from([1, 2, 3]));
    expect((await alice.get('note-1')).data.toString()).to.equal('the first note, encrypted');
    expect(await alice.get('note-2')).to.deep.equal({ data: Buffer.from([1, 2, 3]), tag: 'AQID' });
    expect((await alice.get('note-1', { range: [4, 8] })).data.toString()).to.equal('first');
    await alice.setFlags('note-2', ['PROCESSED']);
    expect(await alice.flags('note-2')).to.deep.equal(['PROCESSED']);
    expect(await alice.list({ flag: 'PROCESSED' })).to.deep.equal(['note-2']);
    expect(await alice.list({ order: 'newest' })).to.deep.equal(['note-2', 'note-1']);
    expect(await alice.count()).to.equal(2);
    await alice.delete('note-1');
    expect(await alice.list()).to.deep.equal(['note-2']);
    const missing = (await alice.get('note-1').catch((err: unknown) => err)) as SpoolError;
    expect([missing.code, missing.details?.status]).to.deep.equal([ErrorCode.RESOURCE_NOT_FOUND, 404]);
  });

  it('pushes many blobs in one stream (sources opened one by one) and pulls them back as an async iterator', async () => {
    const blobs = Array.from({ length: 500 }, (_, i) => ({ id: `m-${i}`, bytes: Buffer.alloc(i % 40, i) }));
    const result = await alice.pushMany(
      blobs.map(({ id, bytes }, i) =>
        i % 2 === 0
          ? { id, data: bytes }
          : {
              id,
              size: bytes.length,
              data: async function* () {
                yield bytes.subarray(0, 3);
                yield bytes.subarray(3);
              },
            },
      ),
      { namespace: 'many' },
    );
    expect(result).to.deep.equal({ stored: 500, skipped: [] });
    let index = 0;
    for await (const blob of alice.pullMany(
      blobs.map((b) => b.id),
      { namespace: 'many' },
    )) {
      const expected = blobs[index++];
      expect([blob.id, blob.size, blob.data.equals(expected?.bytes as Buffer)]).to.deep.equal([expected?.id, expected?.bytes.length, true]);
    }
    expect(index).to.equal(500);
    expect(await alice.count({ namespace: 'many' })).to.equal(500);
  });

  it('reports refusals as typed errors with the fields the server sent', async () => {
    const missing = await (async () => {
      try {
        for await (const _ of alice.pullMany(['nope', 'note-2', 'gone'])) throw new Error('yielded');
      } catch (err) {
        return err as SpoolError;
      }
      return undefined;
    })();
    expect([missing?.code, missing?.details?.missing]).to.deep.equal([ErrorCode.RESOURCE_NOT_FOUND, ['nope', 'gone']]);
    const exists = (await alice.pushMany([{ id: 'note-2', data: 'x' }]).catch((err: unknown) => err)) as SpoolError;
    expect([exists.code, exists.details?.existing]).to.deep.equal([ErrorCode.NAME_TAKEN, ['note-2']]);
    const bob = new BlobClient({ url: `${server.url}/blob-sync/`, user: 'alice', token: BOB, retry: { maxRetries: 0 } });
    const foreign = (await bob.list().catch((err: unknown) => err)) as SpoolError;
    expect([foreign.code, foreign.details?.status]).to.deep.equal([ErrorCode.FORBIDDEN, 403]);
  });
});
