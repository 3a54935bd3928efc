/**
 * Any client could once end the server with one request before authentication: an
 * upgrade whose request target `new URL()` rejects (`GET //[`), or a bad percent-encoding
 * in a Step download id. Every upgrade request, whatever its target, must get an HTTP
 * answer (101, or a 4xx with the JSON error) and leave the server serving. Thousands of
 * random and mutated targets, over raw sockets.
 */
import { connect } from 'node:net';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import fc from 'fast-check';
import { request } from './helpers/http-client.js';
import { startTestServer } from './helpers/server.js';

/** Sends one upgrade request with `target`; resolves with the status line's code (0: the socket closed unanswered). */
function upgradeStatus(port: number, target: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let head = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${JSON.stringify(target)}`));
    }, 5_000);
    const done = (status: number) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(status);
    };
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3}) /.exec(head);
      if (match) done(Number(match[1]));
    });
    socket.on('error', () => done(0));
    socket.on('close', () => done(0));
    socket.write(
      Buffer.from(
        `GET ${target} HTTP/1.1\r\nHost: fuzz\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: spool.v1\r\n\r\n',
        'latin1',
      ),
    );
  });
}

/** Characters that break URL parsing or percent-decoding, plus ordinary path characters. */
const TARGET_CHARS = [..."/\\[]%@:?#&=.-_~!$'()*+,;azAZ09", '%zz', '%%', '%E0%A4%A', '%00', '%2F', '//', '\u00e9', '\u00ff', '\t'];
const VALID_TARGETS = [
  '/ws/streaming/upload',
  '/ws/streaming/upload?streamingUploadContextId=ctx',
  '/ws/streaming/download/0190b4b4-0000-7000-8000-000000000000',
  '/ws/spool/v1/upload',
  '/ws/spool/v1/resources/0190b4b4-0000-7000-8000-000000000000',
];

const randomTarget = fc.array(fc.constantFrom(...TARGET_CHARS), { maxLength: 40 }).map((parts) => parts.join(''));
const mutatedTarget = fc
  .tuple(fc.constantFrom(...VALID_TARGETS), fc.nat(), fc.array(fc.constantFrom(...TARGET_CHARS), { minLength: 1, maxLength: 6 }))
  .map(([valid, at, inserted]) => {
    const cut = at % (valid.length + 1);
    return `${valid.slice(0, cut)}${inserted.join('')}${valid.slice(cut)}`;
  });

describe('WebSocket upgrades: any request target gets an answer, the server stays up', () => {
  let server: SpoolServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('answers the targets that once ended the process', async () => {
    expect(await upgradeStatus(server.port, '/\\')).to.equal(400);
    expect(await upgradeStatus(server.port, '//[')).to.equal(400);
    expect(await upgradeStatus(server.port, '/ws/streaming/download/%')).to.equal(400);
    expect(await upgradeStatus(server.port, '/ws/spool/v1/resources/%E0%A4%A')).to.equal(400);
    expect((await request(`${server.url}/health`)).status).to.equal(200);
  });

  it('answers thousands of random and mutated targets with a status line, and keeps serving', async () => {
    const statuses = new Map<number, number>();
    const targets = [...fc.sample(randomTarget, { numRuns: 2_000, seed: 7 }), ...fc.sample(mutatedTarget, { numRuns: 2_000, seed: 11 })];
    const concurrency = 16;
    for (let i = 0; i < targets.length; i += concurrency) {
      const answers = await Promise.all(targets.slice(i, i + concurrency).map((target) => upgradeStatus(server.port, target)));
      for (const status of answers) statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    // Node's parser refuses some targets itself (400 via clientError); none goes unanswered.
    expect(statuses.get(0) ?? 0, JSON.stringify([...statuses])).to.equal(0);
    for (const status of statuses.keys()) expect([101, 400, 404]).to.include(status);
    expect(statuses.get(101) ?? 0).to.be.above(0);
    expect((await request(`${server.url}/health`)).status).to.equal(200);
  });
});
