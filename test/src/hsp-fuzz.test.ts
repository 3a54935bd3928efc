/**
 * Property-based fuzzing of the HSP server over real sockets: random bytes, well-formed
 * packets of every route, and mutated ones (bytes changed, cut, inserted), split at random
 * points. Whatever a connection sends, it gets well-formed answers or a close within a
 * bounded time, the server never crashes, and other clients are served throughout.
 */
import { encodePacket } from '@spool/common';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import fc from 'fast-check';
import { RawHspSocket } from './helpers/hsp-raw-client.js';
import { startTestServer } from './helpers/server.js';

const ROUTES = ['/ping', '/upload', '/status', '/download', '/list', '/unknown'];

const headerValue = fc.stringMatching(/^[ -9;-~]{0,12}$/).map((v) => v.trim());
const packet = fc
  .record({
    route: fc.option(fc.constantFrom(...ROUTES), { nil: undefined }),
    format: fc.option(fc.constantFrom('bytes', 'text:utf-8', 'json:utf-8', 'xml'), { nil: undefined }),
    stream: fc.option(
      fc.oneof(
        fc.tuple(fc.nat(300), fc.integer({ min: 1, max: 64 })).map(([total, bufsize]) => `${total}:${bufsize}`),
        headerValue,
      ),
      { nil: undefined },
    ),
    extra: fc.uniqueArray(
      fc.tuple(
        fc.constantFrom('x-stream-key', 'x-resource-id', 'x-offset', 'x-length', 'x-filename', 'x-limit', 'x-state', 'auth'),
        headerValue,
      ),
      { selector: ([key]) => key, maxLength: 3 },
    ),
    payload: fc.uint8Array({ maxLength: 64 }),
  })
  .map(({ route, format, stream, extra, payload }) => {
    const headers: [string, string][] = [];
    if (route !== undefined) headers.push(['route', route]);
    if (format !== undefined) headers.push(['data-format', format]);
    if (stream !== undefined) headers.push(['x-stream', stream]);
    headers.push(...extra);
    return Buffer.concat([
      encodePacket(headers, stream !== undefined ? Buffer.alloc(0) : payload),
      stream !== undefined ? Buffer.from(payload) : Buffer.alloc(0),
    ]);
  });

const mutated = fc
  .tuple(
    packet,
    fc.array(fc.record({ kind: fc.constantFrom('set', 'cut', 'insert'), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), {
      minLength: 1,
      maxLength: 3,
    }),
  )
  .map(([bytes, mutations]) => {
    let out = Buffer.from(bytes);
    for (const m of mutations) {
      const at = m.at % Math.max(1, out.length);
      if (m.kind === 'set') out[at] = m.byte;
      else if (m.kind === 'cut') out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]);
      else out = Buffer.concat([out.subarray(0, at), Buffer.from([m.byte]), out.subarray(at)]);
    }
    return out;
  });

const piece = fc.oneof(
  { weight: 3, arbitrary: packet },
  { weight: 3, arbitrary: mutated },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 96 }).map((b) => Buffer.from(b)) },
);

/** What one fuzz connection does: its bytes, where they are split, whether it half-closes after them. */
const session = fc.record({
  pieces: fc.array(piece, { minLength: 1, maxLength: 4 }),
  cuts: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
  halfClose: fc.boolean(),
});

describe('HSP fuzzing: random and mutated packets over real sockets', function () {
  this.timeout(120_000);
  let server: SpoolServer;
  before(async () => {
    server = await startTestServer({ hspIdleTimeoutMs: 300, hspPacketTimeoutMs: 200, hspMaxPayloadBytes: 1024, hspMaxHeaderBytes: 512 });
  });
  after(() => server.close());

  it('every connection gets well-formed answers or a close in bounded time; the server keeps serving others', async () => {
    const port = server.host.tcpPorts.hsp as number;
    let answered = 0;
    await fc.assert(
      fc.asyncProperty(session, async ({ pieces, cuts, halfClose }) => {
        const bytes = Buffer.concat(pieces);
        const client = await RawHspSocket.open(port);
        const bystander = await RawHspSocket.open(port);
        try {
          for (let at = 0, i = 0; at < bytes.length; i++) {
            const step = cuts[i % cuts.length] as number;
            await client.write(bytes.subarray(at, at + step));
            at += step;
          }
          if (halfClose) client.socket.end();
          // Served while the fuzz connection is still open.
          expect((await bystander.request({ route: '/ping' }, 'alive')).payload.toString()).to.equal('pong:alive');
          // Bounded: the idle limit, then the linger of a refused connection, and some slack.
          expect(await client.closedWithin(5_000), 'the server closed the connection in time').to.equal(true);
          for (const answer of client.answers) {
            expect(answer.headers['data-format'], 'every answer names its data-format').to.be.a('string');
            expect(Number.isInteger(answer.status), 'every answer has a numeric status').to.equal(true);
          }
          answered += client.answers.length;
        } finally {
          client.destroy();
          bystander.destroy();
        }
      }),
      { numRuns: 150, seed: 1012 },
    );
    expect(answered, 'the fuzz reached the routes, not just the parser').to.be.above(50);
    // Nothing leaked: every fuzz socket is gone.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(server.host.connections.open).to.equal(0);
  });
});
