import { createServer, get, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { fanOut, type PipeSource } from './fan-out.js';

/** `count` receivers connected to a loopback server: their server-side responses, and what each client read. */
async function receivers(
  count: number,
): Promise<{ server: Server; sinks: ServerResponse[]; clients: Promise<{ body: Buffer; complete: boolean }>[] }> {
  const sinks: ServerResponse[] = [];
  const arrived: (() => void)[] = [];
  const server = createServer((_req, res) => {
    res.writeHead(200);
    res.flushHeaders();
    sinks.push(res);
    arrived.shift()?.();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const clients = Array.from(
    { length: count },
    () =>
      new Promise<{ body: Buffer; complete: boolean }>((resolve) => {
        get({ port, host: '127.0.0.1', agent: false }, (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ body: Buffer.concat(chunks), complete: true }));
          res.on('aborted', () => resolve({ body: Buffer.concat(chunks), complete: false }));
          res.on('error', () => resolve({ body: Buffer.concat(chunks), complete: false }));
        }).on('error', () => undefined);
      }),
  );
  while (sinks.length < count) await new Promise<void>((resolve) => arrived.push(resolve));
  return { server, sinks, clients };
}

function source(): { source: PipeSource; input: PassThrough; whole: (value: boolean) => void } {
  const input = new PassThrough();
  let whole: (value: boolean) => void = () => undefined;
  const complete = new Promise<boolean>((resolve) => {
    whole = resolve;
  });
  return { source: { stream: input, complete }, input, whole };
}

describe('fanOut', () => {
  it('gives every receiver every byte and ends them once the body is whole', async () => {
    const { server, sinks, clients } = await receivers(3);
    const { source: src, input, whole } = source();
    const transfer = fanOut(src, sinks);
    const data = Buffer.alloc(5 * 1024 * 1024 + 7);
    for (let i = 0; i < data.length; i++) data[i] = i % 253;
    input.end(data);
    whole(true);
    expect(await transfer).to.deep.equal({ end: 'finished', bytes: data.length });
    for (const got of await Promise.all(clients)) {
      expect(got.complete).to.equal(true);
      expect(got.body.equals(data)).to.equal(true);
    }
    server.close();
  });

  it('cuts every receiver off when the body is cut short, even if its stream ended normally', async () => {
    const { server, sinks, clients } = await receivers(2);
    const { source: src, input, whole } = source();
    const transfer = fanOut(src, sinks);
    input.write(Buffer.alloc(100_000, 1));
    input.end();
    whole(false);
    expect((await transfer).end).to.equal('source-aborted');
    for (const got of await Promise.all(clients)) expect(got.complete).to.equal(false);
    server.close();
  });

  it('goes on without a receiver that leaves, and reports when all have left', async () => {
    const { server, sinks, clients } = await receivers(2);
    const { source: src, input, whole } = source();
    const dropped: ServerResponse[] = [];
    const transfer = fanOut(src, sinks, { dropped: (sink) => dropped.push(sink) });
    input.write(Buffer.alloc(1000, 2));
    sinks[0]?.destroy();
    await new Promise((resolve) => setTimeout(resolve, 20));
    input.end(Buffer.alloc(1000, 3));
    whole(true);
    expect(await transfer).to.deep.equal({ end: 'finished', bytes: 2000 });
    expect(dropped).to.deep.equal([sinks[0]]);
    expect((await clients[1])?.body.length).to.equal(2000);

    const again = await receivers(1);
    const next = source();
    const lonely = fanOut(next.source, again.sinks);
    next.input.write(Buffer.alloc(10, 1));
    again.sinks[0]?.destroy();
    expect((await lonely).end).to.equal('receivers-gone');
    server.close();
    again.server.close();
  });
});
