import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type { Request } from 'express';
import winston from 'winston';
import type { KeyOwners } from '../../../core/cluster/key-owners.js';
import { askOtherNodes, FORWARDED_HEADER } from './owner-routing.js';

/** A node that answers every request with `answer` (on 127.0.0.1); what it was asked is kept. */
async function node(
  answer: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; url: string; asked: IncomingMessage[] }> {
  const asked: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    asked.push(req);
    answer(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, asked };
}

/** Only the part of `KeyOwners` that `askOtherNodes` uses: the other holders are `urls`. */
function holders(urls: string[]): KeyOwners {
  return { nodeUrl: 'http://127.0.0.1:1', otherHolders: async () => urls } as unknown as KeyOwners;
}

const isList = (value: unknown): value is unknown[] => Array.isArray(value);
const logger = winston.createLogger({ silent: true });
const listRequest = { originalUrl: '/stream?x=1', headers: { authorization: 'Bearer t' } } as unknown as Request;

describe('askOtherNodes (a cluster-wide list)', () => {
  const servers: Server[] = [];
  afterEach(() => {
    for (const server of servers.splice(0)) server.close();
  });
  async function start(answer: (req: IncomingMessage, res: ServerResponse) => void) {
    const started = await node(answer);
    servers.push(started.server);
    return started;
  }

  it('takes the accepted answers, forwarded with the client’s credentials and path', async () => {
    const a = await start((_req, res) => res.end('[{"id":"a"}]'));
    const b = await start((_req, res) => res.end('[]'));
    const { answers, failed } = await askOtherNodes(holders([a.url, b.url]), logger, 'k:', listRequest, {
      accept: isList,
      expected: 'a list',
    });
    expect(answers).to.deep.equal([[{ id: 'a' }], []]);
    expect(failed).to.deep.equal([]);
    const [asked] = a.asked;
    expect(asked?.url).to.equal('/stream?x=1');
    expect(asked?.headers.authorization).to.equal('Bearer t');
    expect(asked?.headers[FORWARDED_HEADER]).to.equal('http://127.0.0.1:1');
  });

  it('names a node whose JSON is not an answer, or which answers an error, as failed', async () => {
    const good = await start((_req, res) => res.end('[1]'));
    const object = await start((_req, res) => res.end('{"streams":[]}'));
    const error = await start((_req, res) => {
      res.statusCode = 500;
      res.end('[]');
    });
    const { answers, failed } = await askOtherNodes(holders([good.url, object.url, error.url]), logger, 'k:', listRequest, {
      accept: isList,
      expected: 'a list',
    });
    expect(answers).to.deep.equal([[1]]);
    expect(failed).to.deep.equal([object.url, error.url]);
  });

  it('does not wait past the deadline for a node that trickles its answer', async () => {
    const timers: NodeJS.Timeout[] = [];
    const trickling = await start((_req, res) => {
      res.write('[');
      // A byte every 50 ms: never idle long enough for the idle timeout.
      timers.push(setInterval(() => res.write(' '), 50));
    });
    const good = await start((_req, res) => res.end('[2]'));
    const started = performance.now();
    try {
      const { answers, failed } = await askOtherNodes(holders([trickling.url, good.url]), logger, 'k:', listRequest, {
        accept: isList,
        expected: 'a list',
        deadlineMs: 300,
      });
      expect(answers).to.deep.equal([[2]]);
      expect(failed).to.deep.equal([trickling.url]);
      // Bounded by the deadline, not by the trickle (which would go on for ever).
      expect(performance.now() - started).to.be.lessThan(5_000);
    } finally {
      for (const timer of timers) clearInterval(timer);
      trickling.server.closeAllConnections();
    }
  });
});
