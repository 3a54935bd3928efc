import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { blobRecordHeader, blobTag, ErrorCode, type SpoolError } from '@spool/common';
import { expect } from 'chai';
import { BlobClient } from './blob-client.js';

/** A scripted server: each request is answered by the next handler. */
async function scripted(handlers: ((req: IncomingMessage, body: Buffer, res: ServerResponse) => void)[]) {
  const seen: { method: string; url: string; body: Buffer; authorization: string | undefined }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? '', url: req.url ?? '', body, authorization: req.headers.authorization });
      const handler = handlers.shift();
      if (handler) handler(req, body, res);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/blob-sync/`;
  return { url, seen, close: () => new Promise((resolve) => server.close(resolve)) };
}

const record = (data: string) => Buffer.concat([blobRecordHeader(data.length, Buffer.from(data)), Buffer.from(data)]);
const cut = (_req: IncomingMessage, _body: Buffer, res: ServerResponse) => res.socket?.destroy();
const json = (status: number, body: unknown) => (_req: IncomingMessage, _body: Buffer, res: ServerResponse) => {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
};

describe('BlobClient (against a scripted server)', () => {
  const retry = { stepMs: 5 };

  it("speaks Soledad's paths and credential", async () => {
    const server = await scripted([json(200, ['a']), json(200, { count: 1 })]);
    const client = new BlobClient({ url: server.url, user: 'alice', token: 's3cret', namespace: 'mail' });
    expect(await client.list({ order: 'newest', flag: 'PENDING' })).to.deep.equal(['a']);
    expect(await client.count()).to.equal(1);
    expect(server.seen.map((request) => request.url)).to.deep.equal([
      '/blob-sync/blobs/alice/?namespace=mail&order_by=-date&filter_flag=PENDING',
      '/blob-sync/blobs/alice/?namespace=mail&only_count=true',
    ]);
    expect(server.seen[0]?.authorization).to.equal(`Token ${Buffer.from('alice:s3cret').toString('base64')}`);
    await server.close();
  });

  it('pulls on after a cut stream, asking only for the blobs not yet had', async () => {
    const server = await scripted([
      (_req, _body, res) => {
        res.writeHead(200);
        res.write(Buffer.concat([record('first'), record('second'), record('third').subarray(0, 20)]));
        setTimeout(() => res.socket?.destroy(), 20);
      },
      (_req, _body, res) => res.writeHead(200).end(Buffer.concat([record('third'), record('')])),
    ]);
    const client = new BlobClient({ url: server.url, user: 'u', retry });
    const pulled: string[] = [];
    for await (const blob of client.pullMany(['a', 'b', 'c', 'd'])) pulled.push(`${blob.id}=${blob.data.toString()}`);
    expect(pulled).to.deep.equal(['a=first', 'b=second', 'c=third', 'd=']);
    expect(server.seen.map((request) => request.body.toString())).to.deep.equal(['["a","b","c","d"]', '["c","d"]']);
    await server.close();
  });

  it('refuses a stream whose bytes do not match their tag, or that ends early', async () => {
    const forged = Buffer.concat([blobRecordHeader(3, Buffer.from('abc')), Buffer.from('abd')]);
    const server = await scripted([
      (_req, _body, res) => res.writeHead(200).end(forged),
      (_req, _body, res) => res.writeHead(200).end(record('x')),
    ]);
    const client = new BlobClient({ url: server.url, user: 'u', retry: { maxRetries: 0 } });
    const pull = async (ids: string[]) => {
      try {
        for await (const _ of client.pullMany(ids));
      } catch (err) {
        return (err as SpoolError).message;
      }
      return 'ok';
    };
    expect(await pull(['a'])).to.match(/do not end with the tag/);
    expect(await pull(['a', 'b'])).to.match(/sent 1 of the 2 blobs/);
    await server.close();
  });

  it('pushes on after a cut stream without the blobs the server already holds', async () => {
    const server = await scripted([
      cut,
      json(409, { name: 'BlobExists', code: 'NAME_TAKEN', message: 'exists', existing: ['a'] }),
      json(200, { stored: 1 }),
    ]);
    const client = new BlobClient({ url: server.url, user: 'u', retry });
    const sources = { b: 0 };
    const result = await client.pushMany([
      { id: 'a', data: 'one' },
      {
        id: 'b',
        size: 3,
        data: async function* () {
          sources.b++;
          yield Buffer.from('tw');
          yield Buffer.from('o');
        },
      },
    ]);
    expect(result).to.deep.equal({ stored: 1, skipped: ['a'] });
    expect(server.seen.map((request) => request.body.toString())).to.deep.equal([
      '[["a",3],["b",3]]\nonetwo',
      '[["a",3],["b",3]]\nonetwo',
      '[["b",3]]\ntwo',
    ]);
    expect(sources.b).to.equal(3);
    await server.close();
  });

  it('does not skip what it did not send: a first 409 is an error with its details', async () => {
    const server = await scripted([json(409, { name: 'BlobExists', code: 'NAME_TAKEN', message: '1 exists', existing: ['a'] })]);
    const client = new BlobClient({ url: server.url, user: 'u', retry });
    const error = (await client.pushMany([{ id: 'a', data: 'x' }]).catch((err: unknown) => err)) as SpoolError;
    expect([error.code, error.message, error.details]).to.deep.equal([
      ErrorCode.NAME_TAKEN,
      'Uploading blobs: 1 exists',
      { status: 409, name: 'BlobExists', existing: ['a'] },
    ]);
    await server.close();
  });

  it('refuses a source that gives another size than declared, cutting the request', async () => {
    const server = await scripted([]);
    const client = new BlobClient({ url: server.url, user: 'u', retry });
    const short = client.pushMany([
      {
        id: 'a',
        size: 10,
        data: async function* () {
          yield Buffer.from('short');
        },
      },
    ]);
    expect(await short.catch((err: Error) => err.message)).to.equal('Blob a: its source gave 5 bytes, 10 declared');
    await server.close();
  });

  it('counts a retried put as stored when the blob the first attempt stored is there with its size and tag', async () => {
    const server = await scripted([
      cut,
      json(409, { name: 'BlobExists', code: 'NAME_TAKEN', message: 'exists' }),
      (_req, _body, res) => res.writeHead(200, { 'Content-Length': '5', Tag: blobTag(Buffer.from('hello')) }).end(),
    ]);
    const client = new BlobClient({ url: server.url, user: 'u', retry });
    await client.put('a', 'hello');
    expect(server.seen.map((request) => request.method)).to.deep.equal(['PUT', 'PUT', 'HEAD']);
    await server.close();
  });
});
