/**
 * The blob-sync protocol (LEAP Soledad's blob API) over real sockets: byte-exact stream
 * bodies built by hand both ways, the per-blob API, every failure of the sheet, quotas,
 * users confined to their own blobs, and blobs readable and followable through the HTTP API.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { BlobStreamDecoder, blobTag } from '@spool/common';
import { createDownloadClient, type SpoolRemoteResource } from '@spool/impl-websocket';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { curl, eventually, hasCurl, request, streamingRequest } from './helpers/http-client.js';
import { startTestServer } from './helpers/server.js';

const ADMIN = 'admin-token-0123456789abcdef';
const ALICE = 'alice-token-0123456789abcdef';
const BOB = 'bob-token-0123456789abcdefgh';
const CAROL = 'carol-token-0123456789abcdef';

/** Soledad's credential: `Token base64(user:token)`. */
const soledad = (user: string, token: string) => ({ Authorization: `Token ${Buffer.from(`${user}:${token}`).toString('base64')}` });
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** Every byte value, in order: its last 16 bytes give `-` and `_` in base64url. */
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

interface BlobErrorJson {
  name: string;
  code: string;
  message: string;
  [field: string]: unknown;
}

/** Decodes a download body into `[size, tag, bytes]` records (throws on a malformed or cut body). */
function records(body: Buffer): [number, string, Buffer][] {
  const decoder = new BlobStreamDecoder();
  const out: [number, string, Buffer][] = [];
  let parts: Buffer[] = [];
  for (const event of decoder.push(body)) {
    if (event.type === 'start') {
      out.push([event.size, event.tag, Buffer.alloc(0)]);
      parts = [];
    } else if (event.type === 'data') parts.push(Buffer.from(event.bytes));
    else (out[out.length - 1] as [number, string, Buffer])[2] = Buffer.concat(parts);
  }
  decoder.end();
  return out;
}

/** A blob's content, derived from its id and size (so a long stream can be checked blob by blob). */
function contentOf(id: string, size: number): Buffer {
  const seed = Buffer.from(`${id}:`);
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = (seed[i % seed.length] as number) ^ (i & 0xff);
  return out;
}

function uploadBody(blobs: readonly [string, Buffer][]): Buffer {
  return Buffer.concat([Buffer.from(`${JSON.stringify(blobs.map(([id, bytes]) => [id, bytes.length]))}\n`), ...blobs.map(([, b]) => b)]);
}

describe('Blob sync (Soledad blob API)', () => {
  let server: SpoolServer;
  let base: string;
  before(async () => {
    server = await startTestServer({
      authEnabled: true,
      apiTokens: `ops:admin:${ADMIN},alice:uploader:${ALICE},bob:uploader:${BOB},carol:reader:${CAROL}`,
    });
    base = `${server.url}/blob-sync`;
  });
  after(() => server.close());

  const asAlice = soledad('alice', ALICE);
  const stream = (user: string, direction: string, body: Buffer | string, headers: Record<string, string>, namespace?: string) =>
    request(`${base}/stream/${user}/?direction=${direction}${namespace ? `&namespace=${namespace}` : ''}`, {
      method: 'POST',
      body,
      headers,
      timeoutMs: 120_000,
    });

  describe('the stream endpoint, byte for byte', () => {
    it('stores a hand-built upload body and streams back exactly the bytes of the format', async () => {
      const body = Buffer.concat([
        Buffer.from('[["tiny",4],["empty",0],["twenty",20],["sixteen",16],["all",256]]\n'),
        Buffer.from('tiny'),
        Buffer.from('0123456789abcdefXYZ!'),
        Buffer.from('exactly sixteen!'),
        ALL_BYTES,
      ]);
      const up = await stream('alice', 'upload', body, asAlice, 'exact');
      expect(up.status, up.text()).to.equal(200);
      expect(up.json()).to.deep.equal({ stored: 5 });

      const down = await stream('alice', 'download', '["all","tiny","empty","twenty","sixteen","tiny"]', asAlice, 'exact');
      expect(down.status, down.text()).to.equal(200);
      expect(down.headers['content-type']).to.equal('application/octet-stream');
      expect(down.headers['transfer-encoding']).to.equal('chunked');
      const expected = Buffer.concat([
        Buffer.from('000001008PHy8_T19vf4-fr7_P3-_w== '),
        ALL_BYTES,
        Buffer.from('00000004dGlueQ== tiny'),
        Buffer.from('00000000 '),
        Buffer.from('00000014NDU2Nzg5YWJjZGVmWFlaIQ== 0123456789abcdefXYZ!'),
        Buffer.from('00000010ZXhhY3RseSBzaXh0ZWVuIQ== exactly sixteen!'),
        Buffer.from('00000004dGlueQ== tiny'),
      ]);
      expect(down.body.equals(expected), down.body.toString('latin1')).to.equal(true);
    });

    it('answers an empty list with an empty body, and stores nothing for an empty upload list', async () => {
      const down = await stream('alice', 'download', '[]', asAlice);
      expect([down.status, down.body.length]).to.deep.equal([200, 0]);
      const noBody = await stream('alice', 'download', '', asAlice);
      expect([noBody.status, noBody.body.length]).to.deep.equal([200, 0]);
      const up = await stream('alice', 'upload', '[]\n', asAlice);
      expect([up.status, up.json()]).to.deep.equal([200, { stored: 0 }]);
    });

    it('moves one blob each way', async () => {
      const up = await stream('alice', 'upload', '[["one",3]]\nabc', asAlice, 'single');
      expect(up.json()).to.deep.equal({ stored: 1 });
      const down = await stream('alice', 'download', '["one"]', asAlice, 'single');
      expect(down.body.toString()).to.equal('00000003YWJj abc');
    });

    it('moves 10,000 blobs in one request each way; they list and count in the namespace', async function () {
      this.timeout(240_000);
      const ids = Array.from({ length: 10_000 }, (_, i) => `blob-${i}`);
      const blobs = ids.map((id, i): [string, Buffer] => [id, contentOf(id, i % 3 === 0 ? i % 17 : 100 + (i % 50))]);
      const up = await stream('alice', 'upload', uploadBody(blobs), asAlice, 'many');
      expect(up.status, up.text()).to.equal(200);
      expect(up.json()).to.deep.equal({ stored: 10_000 });

      const count = await request(`${base}/blobs/alice/?namespace=many&only_count=true`, { headers: asAlice });
      expect(count.json()).to.deep.equal({ count: 10_000 });
      const listed = await request(`${base}/blobs/alice/?namespace=many`, { headers: asAlice, timeoutMs: 60_000 });
      expect(listed.json<string[]>()).to.deep.equal(ids);
      const newestFirst = await request(`${base}/blobs/alice/?namespace=many&order_by=-date`, { headers: asAlice, timeoutMs: 60_000 });
      expect(newestFirst.json<string[]>()).to.deep.equal([...ids].reverse());

      // A quarter of the namespace or more is looked up page by page: missing ids are found all the same.
      const someMissing = await stream(
        'alice',
        'download',
        JSON.stringify([...ids.slice(0, 2600), 'nope-1', 'blob-5', 'nope-2']),
        asAlice,
        'many',
      );
      expect([someMissing.status, someMissing.json<BlobErrorJson>().missing]).to.deep.equal([404, ['nope-1', 'nope-2']]);

      const wanted = [...ids].reverse();
      const down = await stream('alice', 'download', JSON.stringify(wanted), asAlice, 'many');
      expect(down.status).to.equal(200);
      const got = records(down.body);
      expect(got).to.have.length(10_000);
      for (const [index, [size, tag, bytes]] of got.entries()) {
        const id = wanted[index] as string;
        const content = blobs[ids.length - 1 - index]?.[1] as Buffer;
        expect([size, tag], id).to.deep.equal([content.length, blobTag(content)]);
        expect(bytes.equals(content), id).to.equal(true);
      }
    });

    it('answers 404 with every missing id before writing a byte (a blob still being uploaded is missing too)', async () => {
      await stream('alice', 'upload', '[["here",1]]\nh', asAlice, 'gaps');
      const slow = streamingRequest(`${base}/blobs/alice/pending?namespace=gaps`, { method: 'PUT', headers: asAlice });
      await slow.write('partial');
      await eventually(async () =>
        (await server.core.list({ nameStartsWith: 'blob-sync/alice/gaps/pending' })).length ? true : undefined,
      );
      const down = await stream('alice', 'download', '["here","nope","pending","nope","also-missing"]', asAlice, 'gaps');
      expect(down.status).to.equal(404);
      expect(down.headers['content-type']).to.match(/^application\/json/);
      const body = down.json<BlobErrorJson>();
      expect([body.name, body.missing]).to.deep.equal(['BlobNotFound', ['nope', 'pending', 'also-missing']]);
      slow.end('!');
      expect((await slow.response).status).to.equal(200);
    });

    it('refuses a truncated upload without storing the truncated blob, keeping the complete ones', async () => {
      const up = await stream('alice', 'upload', '[["t1",3],["t2",10],["t3",2]]\nabc0123', asAlice, 'trunc');
      expect(up.status).to.equal(400);
      const body = up.json<BlobErrorJson>();
      expect(body).to.deep.include({ name: 'BlobTruncated', blob: 't2', expected: 10, received: 4, stored: 1 });
      expect(body.message).to.match(/t2/);
      const listed = await request(`${base}/blobs/alice/?namespace=trunc`, { headers: asAlice });
      expect(listed.json()).to.deep.equal(['t1']);
      expect(await server.core.list({ nameStartsWith: 'blob-sync/alice/trunc/' })).to.have.length(1);
    });

    it('keeps the complete blobs of a client that vanishes mid-body; the blob it was in is gone', async () => {
      const cut = streamingRequest(`${base}/stream/alice/?direction=upload&namespace=vanish`, { method: 'POST', headers: asAlice });
      await cut.write('[["v1",2],["v2",1000]]\nxy');
      await cut.write('half of v2');
      await eventually(async () =>
        (await request(`${base}/blobs/alice/v1?namespace=vanish`, { headers: asAlice })).status === 200 ? true : undefined,
      );
      cut.abort();
      await eventually(async () =>
        (await server.core.list({ nameStartsWith: 'blob-sync/alice/vanish/' })).length === 1 ? true : undefined,
      );
      const [left] = await server.core.list({ nameStartsWith: 'blob-sync/alice/vanish/' });
      expect([left?.name, left?.state]).to.deep.equal(['blob-sync/alice/vanish/v1', 'COMPLETED']);
    });

    it('refuses bytes after the last blob with 400', async () => {
      const up = await stream('alice', 'upload', '[["o1",2]]\nxyz', asAlice, 'over');
      expect(up.status).to.equal(400);
      expect(up.json<BlobErrorJson>().message).to.match(/after the last blob/);
    });

    it('refuses an upload naming an existing id with 409 listing them, before storing anything', async () => {
      await stream('alice', 'upload', '[["e1",1]]\n1', asAlice, 'exists');
      const up = await stream('alice', 'upload', '[["e0",1],["e1",1],["e2",1]]\nabc', asAlice, 'exists');
      expect(up.status).to.equal(409);
      expect(up.json<BlobErrorJson>()).to.deep.include({ name: 'BlobExists', existing: ['e1'], stored: 0 });
      expect(await server.core.list({ nameStartsWith: 'blob-sync/alice/exists/' })).to.have.length(1);
    });

    it('says what is wrong with a request: direction, names, the first line', async () => {
      const noDirection = await request(`${base}/stream/alice/`, { method: 'POST', headers: asAlice, body: '[]' });
      expect([noDirection.status, noDirection.json<BlobErrorJson>().message]).to.deep.equal([
        400,
        'direction must be upload or download, got none',
      ]);
      const bad = await stream('alice', 'sideways', '[]', asAlice);
      expect(bad.json<BlobErrorJson>().message).to.equal('direction must be upload or download, got "sideways"');
      const namespace = await stream('alice', 'download', '[]', asAlice, 'no%2Fslash');
      expect([namespace.status, namespace.json<BlobErrorJson>().message]).to.deep.equal([
        400,
        'The namespace must be 1 to 128 letters, digits, _ or - (^[a-zA-Z0-9_-]+$), got "no/slash"',
      ]);
      const line = await stream('alice', 'upload', '{"not":"a list"}\n', asAlice);
      expect([line.status, line.json<BlobErrorJson>().name]).to.deep.equal([400, 'InvalidRequest']);
      const ids = await stream('alice', 'download', '["ok","not ok"]', asAlice);
      expect([ids.status, ids.json<BlobErrorJson>().code]).to.deep.equal([400, 'INVALID_MESSAGE']);
    });

    it('makes an error after streaming began visible: the response is cut, never ended cleanly', async function () {
      this.timeout(120_000);
      const blobs = Array.from({ length: 160 }, (_, i): [string, Buffer] => [`big-${i}`, Buffer.alloc(64 * 1024, i)]);
      expect((await stream('alice', 'upload', uploadBody(blobs), asAlice, 'cut')).status).to.equal(200);
      const lastId = (await server.core.resolve('blob-sync/alice/cut/big-159')).id;
      const outcome = await new Promise<{ bytes: number; complete: boolean; error?: string }>((resolve) => {
        const req = httpRequest(
          `${base}/stream/alice/?direction=download&namespace=cut`,
          { method: 'POST', headers: asAlice },
          (res: IncomingMessage) => {
            let bytes = 0;
            res.once('data', (chunk: Buffer) => {
              bytes += chunk.length;
              // A slow reader: the server stops at the client's pace, long before the last blob.
              res.pause();
              void request(`${base}/blobs/alice/big-159?namespace=cut`, { method: 'DELETE', headers: asAlice }).then(() => res.resume());
              res.on('data', (more: Buffer) => {
                bytes += more.length;
              });
            });
            res.on('end', () => resolve({ bytes, complete: res.complete }));
            res.on('error', (err) => resolve({ bytes, complete: res.complete, error: err.message }));
          },
        );
        req.end(JSON.stringify(blobs.map(([id]) => id)));
      });
      expect(outcome.complete).to.equal(false);
      expect(outcome.bytes).to.be.below(160 * (64 * 1024 + 33));
      expect(await server.core.getRecord(lastId).catch(() => 'gone')).to.equal('gone');
    });
  });

  describe('the per-blob API', () => {
    it('puts (409 if it exists), gets with Tag and RFC 9110 ranges, deletes (204, then 404)', async () => {
      const put = await request(`${base}/blobs/alice/doc1?namespace=per`, { method: 'PUT', body: ALL_BYTES, headers: asAlice });
      expect(put.status).to.equal(200);
      const again = await request(`${base}/blobs/alice/doc1?namespace=per`, { method: 'PUT', body: 'x', headers: asAlice });
      expect([again.status, again.json<BlobErrorJson>().name]).to.deep.equal([409, 'BlobExists']);

      const get = await request(`${base}/blobs/alice/doc1?namespace=per`, { headers: asAlice });
      expect([get.status, get.headers.tag, get.body.equals(ALL_BYTES)]).to.deep.equal([200, '8PHy8_T19vf4-fr7_P3-_w==', true]);
      expect(get.headers['spool-resource-id']).to.equal(put.headers['spool-resource-id']);
      const range = await request(`${base}/blobs/alice/doc1?namespace=per`, { headers: { ...asAlice, Range: 'bytes=2-4' } });
      expect([range.status, range.headers['content-range'], [...range.body]]).to.deep.equal([206, 'bytes 2-4/256', [2, 3, 4]]);
      const suffix = await request(`${base}/blobs/alice/doc1?namespace=per`, { headers: { ...asAlice, Range: 'bytes=-2' } });
      expect([...suffix.body]).to.deep.equal([254, 255]);
      const outside = await request(`${base}/blobs/alice/doc1?namespace=per`, { headers: { ...asAlice, Range: 'bytes=256-' } });
      expect([outside.status, outside.headers['content-range'], outside.json<BlobErrorJson>().name]).to.deep.equal([
        416,
        'bytes */256',
        'RangeNotSatisfiable',
      ]);

      expect((await request(`${base}/blobs/alice/doc1?namespace=per`, { method: 'DELETE', headers: asAlice })).status).to.equal(204);
      const gone = await request(`${base}/blobs/alice/doc1?namespace=per`, { method: 'DELETE', headers: asAlice });
      expect([gone.status, gone.json<BlobErrorJson>().missing]).to.deep.equal([404, ['doc1']]);
      expect((await request(`${base}/blobs/alice/doc1?namespace=per`, { headers: asAlice })).status).to.equal(404);
      // Deleted, the id may be stored again.
      expect((await request(`${base}/blobs/alice/doc1?namespace=per`, { method: 'PUT', body: 'new', headers: asAlice })).status).to.equal(
        200,
      );
    });

    it('streams a blob larger than what is read whole (64 KiB), by itself and in a download stream', async () => {
      const big = contentOf('big', 200 * 1024 + 7);
      expect((await request(`${base}/blobs/alice/big?namespace=large`, { method: 'PUT', body: big, headers: asAlice })).status).to.equal(
        200,
      );
      const get = await request(`${base}/blobs/alice/big?namespace=large`, { headers: asAlice });
      expect([get.headers.tag, get.body.equals(big)]).to.deep.equal([blobTag(big), true]);
      const middle = await request(`${base}/blobs/alice/big?namespace=large`, { headers: { ...asAlice, Range: 'bytes=100000-100009' } });
      expect(middle.body.equals(big.subarray(100_000, 100_010))).to.equal(true);
      await request(`${base}/blobs/alice/small?namespace=large`, { method: 'PUT', body: 'small', headers: asAlice });
      const down = await stream('alice', 'download', '["small","big","small"]', asAlice, 'large');
      expect(
        records(down.body).map(([size, tag, bytes]) => [size, tag, bytes.equals(size === big.length ? big : Buffer.from('small'))]),
      ).to.deep.equal([
        [5, blobTag(Buffer.from('small')), true],
        [big.length, blobTag(big), true],
        [5, blobTag(Buffer.from('small')), true],
      ]);
    });

    it('serves blobs of a stream upload, kept in the catalog, through the HTTP range API and WebSocket, and deletes them', async () => {
      const kilo = contentOf('kilo', 1024);
      const up = await stream(
        'alice',
        'upload',
        uploadBody([
          ['empty', Buffer.alloc(0)],
          ['short', Buffer.from('tiny')],
          ['kilo', kilo],
        ]),
        asAlice,
        'inline',
      );
      expect(up.status).to.equal(200);
      const get = await request(`${base}/blobs/alice/kilo?namespace=inline`, { headers: { ...asAlice, Range: 'bytes=10-19' } });
      expect([get.status, get.body.equals(kilo.subarray(10, 20)), get.headers.tag]).to.deep.equal([206, true, blobTag(kilo)]);
      const id = get.headers['spool-resource-id'] as string;
      expect((await server.core.getRecord(id)).inline).to.equal(true);
      // The HTTP API: a range, and a follow of the COMPLETED resource (its bytes, then the end).
      const range = await request(`${server.url}/api/v1/resources/${id}/content`, { headers: { ...bearer(ALICE), Range: 'bytes=1000-' } });
      expect([range.status, range.body.equals(kilo.subarray(1000))]).to.deep.equal([206, true]);
      const followed = await request(`${server.url}/api/v1/resources/${id}/content?follow=1`, { headers: bearer(ALICE) });
      expect([followed.status, followed.body.equals(kilo)]).to.deep.equal([200, true]);
      // The Spool WebSocket protocol: a range read and a follow.
      const resource = (await createDownloadClient({ url: server.url, headers: bearer(ALICE) }).open({ id })) as SpoolRemoteResource;
      try {
        expect((await resource.readRange(100, 300)).equals(kilo.subarray(100, 300))).to.equal(true);
        const chunks: Buffer[] = [];
        for await (const chunk of resource.follow()) chunks.push(chunk as Buffer);
        expect(Buffer.concat(chunks).equals(kilo)).to.equal(true);
      } finally {
        await resource.close();
      }
      const down = await stream('alice', 'download', '["kilo","empty","short"]', asAlice, 'inline');
      expect(records(down.body).map(([size, , bytes]) => [size, bytes.toString('hex')])).to.deep.equal([
        [1024, kilo.toString('hex')],
        [0, ''],
        [4, Buffer.from('tiny').toString('hex')],
      ]);
      expect((await request(`${base}/blobs/alice/kilo?namespace=inline`, { method: 'DELETE', headers: asAlice })).status).to.equal(204);
      expect((await request(`${base}/blobs/alice/kilo?namespace=inline`, { headers: asAlice })).status).to.equal(404);
      expect((await request(`${server.url}/api/v1/resources/${id}/content`, { headers: bearer(ALICE) })).status).to.equal(404);
      expect((await server.core.readInline([id])).size).to.equal(0);
      const count = await request(`${base}/blobs/alice/?namespace=inline&only_count=true`, { headers: asAlice });
      expect(count.json()).to.deep.equal({ count: 2 });
    });

    it('keeps flags (406 for others), filters and orders listings', async () => {
      for (const id of ['f1', 'f2', 'f3']) {
        await request(`${base}/blobs/alice/${id}?namespace=flags`, { method: 'PUT', body: id, headers: asAlice });
      }
      const set = await request(`${base}/blobs/alice/f2?namespace=flags`, {
        method: 'POST',
        body: '["PROCESSING","PENDING"]',
        headers: { ...asAlice, 'Content-Type': 'application/json' },
      });
      expect(set.status).to.equal(200);
      const invalid = await request(`${base}/blobs/alice/f2?namespace=flags`, { method: 'POST', body: '["DONE"]', headers: asAlice });
      expect([invalid.status, invalid.json<BlobErrorJson>().name]).to.deep.equal([406, 'InvalidFlag']);
      const flags = await request(`${base}/blobs/alice/f2?namespace=flags&only_flags=true`, { headers: asAlice });
      expect(flags.json()).to.deep.equal(['PROCESSING', 'PENDING']);
      const pending = await request(`${base}/blobs/alice/?namespace=flags&filter_flag=PENDING`, { headers: asAlice });
      expect(pending.json()).to.deep.equal(['f2']);
      const oldest = await request(`${base}/blobs/alice/?namespace=flags&order_by=%2Bdate`, { headers: asAlice });
      expect(oldest.json()).to.deep.equal(['f1', 'f2', 'f3']);
      const newest = await request(`${base}/blobs/alice/?namespace=flags&order_by=-date`, { headers: asAlice });
      expect(newest.json()).to.deep.equal(['f3', 'f2', 'f1']);
      const count = await request(`${base}/blobs/alice/?namespace=flags&only_count=true`, { headers: asAlice });
      expect(count.json()).to.deep.equal({ count: 3 });
      const empty = await request(`${base}/blobs/alice/?namespace=nothing-here`, { headers: asAlice });
      expect(empty.json()).to.deep.equal([]);
    });

    it('lets a blob being uploaded be followed live through the HTTP API, by the resource id it names', async () => {
      const put = streamingRequest(`${base}/blobs/alice/live?namespace=follow`, { method: 'PUT', headers: asAlice });
      await put.write('first part, ');
      const pending = await eventually(async () => {
        const answer = await request(`${base}/blobs/alice/live?namespace=follow`, { headers: asAlice });
        return answer.status === 404 && answer.json<BlobErrorJson>().resource ? answer.json<BlobErrorJson>() : undefined;
      });
      expect(pending.message).to.match(/still being uploaded/);
      const follower = request(`${server.url}/api/v1/resources/${pending.resource as string}/content?follow=1`, {
        headers: bearer(ALICE),
        timeoutMs: 30_000,
      });
      await new Promise((resolve) => setTimeout(resolve, 150));
      await put.write('second part');
      put.end();
      expect((await put.response).status).to.equal(200);
      const followed = await follower;
      expect([followed.status, followed.text()]).to.deep.equal([200, 'first part, second part']);
      // Other users cannot follow it.
      const bobFollows = await request(`${server.url}/api/v1/resources/${pending.resource as string}/content`, { headers: bearer(BOB) });
      expect(bobFollows.status).to.equal(403);
    });

    it('works with curl as a user types it', async function () {
      if (!hasCurl()) this.skip();
      const auth = `Authorization: ${asAlice.Authorization}`;
      const put = await curl(['-f', '-T', '-', '-H', auth, `${base}/blobs/alice/from-curl?namespace=curl`], {
        input: 'piped through curl',
      });
      expect(put.code, put.stderr).to.equal(0);
      const get = await curl(['-f', '-D', '-', '-H', auth, '-r', '0-5', `${base}/blobs/alice/from-curl?namespace=curl`]);
      const text = get.stdout.toString();
      expect(text).to.match(/^HTTP\/1\.1 206/);
      expect(text).to.match(/\r\nTag: cGVkIHRocm91Z2ggY3VybA==\r\n/i);
      expect(text.endsWith('\r\n\r\npiped ')).to.equal(true);
      const down = await curl([
        '-f',
        '-H',
        auth,
        '--data-binary',
        '["from-curl"]',
        `${base}/stream/alice/?direction=download&namespace=curl`,
      ]);
      expect(down.stdout.toString()).to.equal('00000012cGVkIHRocm91Z2ggY3VybA== piped through curl');
    });
  });

  describe('users and their blobs', () => {
    before(async () => {
      await request(`${base}/blobs/alice/secret?namespace=mine`, { method: 'PUT', body: 'for alice only', headers: asAlice });
    });

    it("refuses one user another's blobs on every path (403), and credentials of another user than the path's (401)", async () => {
      const asBob = soledad('bob', BOB);
      expect((await request(`${base}/blobs/alice/secret?namespace=mine`, { headers: bearer(BOB) })).status).to.equal(403);
      expect((await request(`${base}/blobs/alice/?namespace=mine`, { headers: bearer(BOB) })).status).to.equal(403);
      expect((await stream('alice', 'download', '["secret"]', bearer(BOB), 'mine')).status).to.equal(403);
      expect((await request(`${base}/blobs/alice/secret?namespace=mine`, { method: 'DELETE', headers: bearer(BOB) })).status).to.equal(403);
      const claimsAlice = await request(`${base}/blobs/alice/secret?namespace=mine`, { headers: soledad('alice', BOB) });
      expect([claimsAlice.status, claimsAlice.json<BlobErrorJson>().name]).to.deep.equal([403, 'Forbidden']);
      const pathMismatch = await request(`${base}/blobs/alice/secret?namespace=mine`, { headers: asBob });
      expect([pathMismatch.status, pathMismatch.headers['www-authenticate']]).to.deep.equal([401, 'Token, Bearer']);
      const anonymous = await request(`${base}/blobs/alice/secret?namespace=mine`);
      expect([anonymous.status, anonymous.json<BlobErrorJson>().name]).to.deep.equal([401, 'Unauthorized']);

      const id = (await request(`${base}/blobs/alice/secret?namespace=mine`, { headers: asAlice })).headers['spool-resource-id'] as string;
      for (const path of [`/api/v1/resources/${id}`, `/api/v1/resources/${id}/content`]) {
        expect((await request(`${server.url}${path}`, { headers: bearer(BOB) })).status, path).to.equal(403);
        expect((await request(`${server.url}${path}`, { headers: bearer(CAROL) })).status, path).to.equal(403);
        expect((await request(`${server.url}${path}`, { headers: bearer(ALICE) })).status, path).to.equal(200);
      }
      expect((await request(`${server.url}/api/v1/resources/${id}`, { method: 'DELETE', headers: bearer(BOB) })).status).to.equal(403);
      expect((await request(`${base}/blobs/alice/secret?namespace=mine`, { headers: asAlice })).text()).to.equal('for alice only');
    });

    it('lets an admin act for any user, and a reader token only read and list its own', async () => {
      const asAdmin = soledad('alice', ADMIN);
      expect((await request(`${base}/blobs/alice/secret?namespace=mine`, { headers: asAdmin })).text()).to.equal('for alice only');
      const asCarol = soledad('carol', CAROL);
      expect((await request(`${base}/blobs/carol/`, { headers: asCarol })).status).to.equal(200);
      expect((await request(`${base}/blobs/carol/c1`, { method: 'PUT', body: 'x', headers: asCarol })).status).to.equal(403);
      expect((await request(`${base}/blobs/carol/c1`, { method: 'PUT', body: 'x', headers: soledad('carol', ADMIN) })).status).to.equal(
        200,
      );
      expect((await request(`${base}/blobs/carol/c1`, { headers: asCarol })).text()).to.equal('x');
    });
  });
});

describe('Blob sync quota (blobQuotaBytes)', () => {
  let server: SpoolServer;
  let base: string;
  before(async () => {
    server = await startTestServer({ blobQuotaBytes: 1000, blobBasePath: '/sync/v1' });
    base = `${server.url}/sync/v1`;
  });
  after(() => server.close());

  const stored = async (user: string) => (await server.core.usage(`blob-sync/${user}/`)).bytes;

  it('refuses a PUT past the quota with 507 (a declared length before any byte), counting every namespace', async () => {
    expect((await request(`${base}/blobs/q1/a`, { method: 'PUT', body: Buffer.alloc(600) })).status).to.equal(200);
    const over = await request(`${base}/blobs/q1/b?namespace=other`, { method: 'PUT', body: Buffer.alloc(600) });
    expect(over.status).to.equal(507);
    expect(over.json<BlobErrorJson>()).to.deep.include({ name: 'QuotaExceeded', limit: 1000, used: 600, wanted: 600 });
    expect((await request(`${base}/blobs/q1/c`, { method: 'PUT', body: Buffer.alloc(400) })).status).to.equal(200);
    expect(await stored('q1')).to.equal(1000);
  });

  it('refuses a chunked PUT once it passes the quota, storing nothing of it', async () => {
    const put = streamingRequest(`${base}/blobs/q2/chunked`, { method: 'PUT' });
    await put.write(Buffer.alloc(700));
    put.end(Buffer.alloc(700));
    const answer = await put.response;
    expect([answer.status, answer.json<BlobErrorJson>().message]).to.deep.equal([
      507,
      'Quota exceeded: user q2 uses 0 of 1000 bytes (blobQuotaBytes); this request needs a body longer than the 1000 bytes left',
    ]);
    await eventually(async () => ((await stored('q2')) === 0 ? true : undefined));
    expect(await server.core.list({ nameStartsWith: 'blob-sync/q2/' })).to.have.length(0);
  });

  it('checks a stream upload against the quota before storing any blob (the original did not)', async () => {
    const body = Buffer.concat([Buffer.from('[["s1",500],["s2",600]]\n'), Buffer.alloc(1100)]);
    const up = await request(`${base}/stream/q3/?direction=upload`, { method: 'POST', body });
    expect(up.status).to.equal(507);
    expect(up.json<BlobErrorJson>()).to.deep.include({ name: 'QuotaExceeded', stored: 0, wanted: 1100 });
    expect(await server.core.list({ nameStartsWith: 'blob-sync/q3/' })).to.have.length(0);
    const fits = await request(`${base}/stream/q3/?direction=upload`, {
      method: 'POST',
      body: Buffer.concat([Buffer.from('[["s1",1000]]\n'), Buffer.alloc(1000)]),
    });
    expect(fits.json()).to.deep.equal({ stored: 1 });
  });

  it('serves under the configured base path only', async () => {
    expect((await request(`${server.url}/blob-sync/blobs/q1/a`)).status).to.equal(404);
    expect((await request(`${base}/blobs/q1/a`)).status).to.equal(200);
  });
});

describe('Blob sync: a download whose client stops reading', () => {
  let server: SpoolServer;
  before(async () => {
    server = await startTestServer({ httpIdleTimeoutMs: 300 });
  });
  after(() => server.close());

  it('is cut once the client took nothing for httpIdleTimeoutMs, never sent whole', async function () {
    this.timeout(120_000);
    // 80 MB: more than the sockets' kernel buffers hold, so the server must wait for the client.
    const blobs = Array.from({ length: 400 }, (_, i): [string, Buffer] => [`s${i}`, Buffer.alloc(200 * 1024, i)]);
    const total = blobs.reduce((sum, [, bytes]) => sum + bytes.length + 33, 0);
    const base = `${server.url}/blob-sync`;
    const up = await request(`${base}/stream/idle/?direction=upload`, { method: 'POST', body: uploadBody(blobs), timeoutMs: 60_000 });
    expect(up.status).to.equal(200);
    const outcome = await new Promise<{ complete: boolean; bytes: number }>((resolve) => {
      const req = httpRequest(`${base}/stream/idle/?direction=download`, { method: 'POST' }, (res: IncomingMessage) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
        });
        res.pause();
        // Stalled well past the limit, then reading again: what was sent before the cut arrives, then the cut.
        setTimeout(() => res.resume(), 2_000);
        res.on('end', () => resolve({ complete: res.complete, bytes }));
        res.on('error', () => resolve({ complete: res.complete, bytes }));
        res.on('aborted', () => resolve({ complete: false, bytes }));
      });
      req.on('error', () => undefined);
      req.end(JSON.stringify(blobs.map(([id]) => id)));
    });
    expect(outcome.complete).to.equal(false);
    expect(outcome.bytes).to.be.below(total);
  });
});
