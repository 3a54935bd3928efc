/**
 * HTTP API, live reading: follow mode (tail -f), Jenkins progressive text and
 * Server-Sent Events, on resources that grow while they are read.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { type BusListener, MemoryEventBus, type SpoolServer, type UploadSession } from '@spool/server';
import { expect } from 'chai';
import { curl, eventually, hasCurl, request } from './helpers/http-client.js';
import { startTestServer } from './helpers/server.js';

/** The embedded bus, counting live subscriptions: proves that followers unsubscribe. */
class CountingBus extends MemoryEventBus {
  live = 0;
  override async subscribe<T>(channel: string, listener: BusListener<T>): Promise<() => void> {
    const unsubscribe = await super.subscribe(channel, listener);
    this.live++;
    let done = false;
    return () => {
      if (!done) {
        done = true;
        this.live--;
      }
      unsubscribe();
    };
  }
}

/** A streaming GET whose body is collected as it comes; `ended` says how it ended. */
interface OpenResponse {
  res: IncomingMessage;
  received: () => Buffer;
  ended: Promise<'complete' | 'aborted'>;
  destroy: () => void;
}

function openStream(url: string, headers: Record<string, string> = {}): Promise<OpenResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      const ended = new Promise<'complete' | 'aborted'>((done) => {
        res.on('end', () => done('complete'));
        res.on('aborted', () => done('aborted'));
        res.on('error', () => done('aborted'));
      });
      res.on('data', (c: Buffer) => chunks.push(c));
      resolve({ res, received: () => Buffer.concat(chunks), ended, destroy: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}

async function visible(server: SpoolServer, id: string, size: number): Promise<void> {
  await eventually(async () => ((await server.core.getStatus(id)).size >= size ? true : undefined), 10_000, `visible size ${size}`);
}

describe('HTTP API: follow, progressive text, events', () => {
  let server: SpoolServer;
  let bus: CountingBus;

  before(async () => {
    bus = new CountingBus();
    server = await startTestServer({ httpSseKeepaliveMs: 50 }, { deps: { bus } });
  });
  after(() => server.close());

  async function growing(filename = 'live.log'): Promise<UploadSession> {
    return server.core.createUpload({ filename, mimeType: 'text/plain', supportsLineAccess: true });
  }
  const content = (id: string) => `${server.url}/api/v1/resources/${id}/content`;

  describe('follow mode', () => {
    it('streams bytes as they become visible and ends cleanly once COMPLETED', async () => {
      const session = await growing();
      session.write(Buffer.from('first\n'));
      const follower = await openStream(`${content(session.id)}?follow=1`);
      expect(follower.res.statusCode).to.equal(200);
      expect(follower.res.headers['transfer-encoding']).to.equal('chunked');
      expect(follower.res.headers['content-type']).to.equal('text/plain; charset=utf-8');
      await eventually(() => (follower.received().toString() === 'first\n' ? true : undefined), 10_000, 'first line followed');
      session.write(Buffer.from('second\n'));
      await eventually(() => (follower.received().toString() === 'first\nsecond\n' ? true : undefined), 10_000, 'second line followed');
      session.write(Buffer.from('last'));
      await session.finish();
      expect(await follower.ended).to.equal('complete');
      expect(follower.received().toString()).to.equal('first\nsecond\nlast');
    });

    it('starts at ?start=N and waits for bytes not yet there', async () => {
      const session = await growing();
      session.write(Buffer.from('0123456789'));
      await visible(server, session.id, 10);
      const follower = await openStream(`${content(session.id)}?follow=1&start=14`);
      session.write(Buffer.from('abcdefgh'));
      await session.finish();
      expect(await follower.ended).to.equal('complete');
      expect(follower.received().toString()).to.equal('efgh');
    });

    it('aborts the response (no terminating chunk) when the resource FAILS, after the bytes it kept', async () => {
      const session = await growing();
      session.write(Buffer.from('kept bytes\n'));
      const follower = await openStream(`${content(session.id)}?follow=1`);
      await eventually(() => (follower.received().length === 11 ? true : undefined), 10_000, 'bytes followed');
      await session.fail('producer crashed');
      expect(await follower.ended).to.equal('aborted');
      expect(follower.received().toString()).to.equal('kept bytes\n');
    });

    it('curl -N follows to a clean end (exit 0) on COMPLETED and fails (exit 18) on FAILED', async function () {
      if (!hasCurl()) this.skip();
      const ok = await growing();
      const okRun = curl(['-N', `${content(ok.id)}?follow=1`]);
      await eventually(() => (bus.live > 0 ? true : undefined));
      ok.write(Buffer.from('hello\n'));
      await visible(server, ok.id, 6);
      ok.write(Buffer.from('world\n'));
      await ok.finish();
      const okResult = await okRun;
      expect(okResult.code, okResult.stderr).to.equal(0);
      expect(okResult.stdout.toString()).to.equal('hello\nworld\n');

      const bad = await growing();
      const badRun = curl(['-N', `${content(bad.id)}?follow=1`]);
      bad.write(Buffer.from('partial\n'));
      await visible(server, bad.id, 8);
      await new Promise((r) => setTimeout(r, 100));
      await bad.fail('producer crashed');
      const badResult = await badRun;
      expect(badResult.code, badResult.stderr).to.equal(18);
      expect(badResult.stdout.toString()).to.equal('partial\n');
    });

    it('a follower of a completed resource gets it whole and the response ends; past its end is 416', async () => {
      const session = await growing();
      session.write(Buffer.from('all of it'));
      await session.finish();
      const whole = await request(`${content(session.id)}?follow=1`);
      expect(whole.status).to.equal(200);
      expect(whole.text()).to.equal('all of it');
      const past = await request(`${content(session.id)}?follow=1&start=100`);
      expect(past.status).to.equal(416);
      expect(past.headers['content-range']).to.equal('bytes */9');
    });

    it('unsubscribes a follower that disconnects', async () => {
      const session = await growing();
      const before = bus.live;
      const follower = await openStream(`${content(session.id)}?follow=1`);
      await eventually(() => (bus.live === before + 1 ? true : undefined), 10_000, 'follower subscribed');
      follower.destroy();
      await eventually(() => (bus.live === before ? true : undefined), 10_000, 'follower unsubscribed');
      await session.fail('test over');
    });

    it('a follower that stops reading never holds up the uploader; it catches up from storage later', async () => {
      const session = await growing('big.log');
      const follower = await openStream(`${content(session.id)}?follow=1`);
      follower.res.pause();
      const chunk = Buffer.alloc(256 * 1024, 'a');
      for (let i = 0; i < 32; i++) {
        if (!session.write(chunk)) await new Promise((r) => session.once('drain', r));
      }
      const status = await session.finish();
      expect(status.size).to.equal(32 * chunk.length);
      follower.res.resume();
      expect(await follower.ended).to.equal('complete');
      expect(follower.received().length).to.equal(32 * chunk.length);
    });
  });

  describe('progressive text (Jenkins)', () => {
    it('answers bytes from start to the visible end with X-Text-Size, and X-More-Data while growing', async () => {
      const session = await growing();
      session.write(Buffer.from('alpha\nbeta\n'));
      await visible(server, session.id, 11);
      const first = await request(`${content(session.id)}?start=0`);
      expect(first.status).to.equal(200);
      expect(first.text()).to.equal('alpha\nbeta\n');
      expect(first.headers['x-text-size']).to.equal('11');
      expect(first.headers['x-more-data']).to.equal('true');

      session.write(Buffer.from('gamma\n'));
      await visible(server, session.id, 17);
      const second = await request(`${content(session.id)}?start=${first.headers['x-text-size']}`);
      expect(second.text()).to.equal('gamma\n');
      expect(second.headers['x-text-size']).to.equal('17');

      await session.finish();
      const last = await request(`${content(session.id)}?start=17`);
      expect(last.status).to.equal(200);
      expect(last.body.length).to.equal(0);
      expect(last.headers['x-text-size']).to.equal('17');
      expect(last.headers['x-more-data']).to.equal(undefined);

      const past = await request(`${content(session.id)}?start=18`);
      expect(past.status).to.equal(416);
      expect(past.headers['content-range']).to.equal('bytes */17');
      const bad = await request(`${content(session.id)}?start=-3`);
      expect(bad.status).to.equal(400);
    });

    it('a poller passing X-Text-Size back as start reassembles the whole log', async () => {
      const session = await growing();
      let expected = '';
      let polled = '';
      let start = 0;
      for (let round = 0; round < 20; round++) {
        const piece = `round ${round}\n`;
        expected += piece;
        session.write(Buffer.from(piece));
        if (round === 19) await session.finish();
        const res = await request(`${content(session.id)}?start=${start}`);
        polled += res.text();
        start = Number(res.headers['x-text-size']);
      }
      for (;;) {
        const res = await request(`${content(session.id)}?start=${start}`);
        polled += res.text();
        start = Number(res.headers['x-text-size']);
        if (res.headers['x-more-data'] === undefined) break;
      }
      expect(polled).to.equal(expected);
    });
  });

  describe('status events (SSE)', () => {
    interface Sse {
      event?: string;
      id?: string;
      data?: Record<string, unknown>;
      comment?: string;
    }
    function parseSse(text: string): Sse[] {
      return text
        .split('\n\n')
        .filter((block) => block.length > 0)
        .map((block) => {
          const event: Sse = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) event.comment = line.slice(1).trim();
            else if (line.startsWith('event: ')) event.event = line.slice(7);
            else if (line.startsWith('id: ')) event.id = line.slice(4);
            else if (line.startsWith('data: ')) event.data = JSON.parse(line.slice(6)) as Record<string, unknown>;
          }
          return event;
        });
    }

    it('sends the current status first, every change after it in order, keepalive comments, and ends after the terminal one', async () => {
      const session = await growing();
      const stream = await openStream(`${server.url}/api/v1/resources/${session.id}/events`);
      expect(stream.res.statusCode).to.equal(200);
      expect(stream.res.headers['content-type']).to.equal('text/event-stream; charset=utf-8');
      await eventually(() => (stream.received().toString().includes('keepalive') ? true : undefined), 10_000, 'a keepalive comment');
      session.write(Buffer.from('one\n'));
      await visible(server, session.id, 4);
      session.write(Buffer.from('two\n'));
      await session.finish();
      expect(await stream.ended).to.equal('complete');
      const events = parseSse(stream.received().toString()).filter((e) => e.event === 'status');
      expect(events[0]?.data).to.include({ id: session.id, state: 'INITIATED', size: 0 });
      const last = events[events.length - 1];
      expect(last?.data).to.include({ state: 'COMPLETED', size: 8, lines: 2 });
      expect(last?.id).to.equal('COMPLETED');
      const sizes = events.map((e) => e.data?.size as number);
      expect(sizes).to.deep.equal([...sizes].sort((a, b) => a - b));
      expect(events.slice(0, -1).every((e) => e.id === undefined)).to.equal(true);
    });

    it('answers a terminal resource with its status and ends; a reconnect after the terminal event gets 204 (EventSource stops)', async () => {
      const session = await growing();
      await session.fail('broken');
      const res = await request(`${server.url}/api/v1/resources/${session.id}/events`);
      expect(res.status).to.equal(200);
      const events = parseSse(res.text()).filter((e) => e.event === 'status');
      expect(events).to.have.length(1);
      expect(events[0]?.data).to.include({ state: 'FAILED', error: 'broken' });
      const reconnect = await request(`${server.url}/api/v1/resources/${session.id}/events`, { headers: { 'Last-Event-ID': 'FAILED' } });
      expect(reconnect.status).to.equal(204);
    });

    it('unsubscribes when the client goes away', async () => {
      const session = await growing();
      const before = bus.live;
      const stream = await openStream(`${server.url}/api/v1/resources/${session.id}/events`);
      await eventually(() => (bus.live === before + 1 ? true : undefined));
      stream.destroy();
      await eventually(() => (bus.live === before ? true : undefined), 10_000, 'events unsubscribed');
      await session.fail('test over');
    });
  });
});
