import http from 'node:http';
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { startTestServer } from './helpers/server.js';
import { md5Hex, startRawUpload } from './helpers/step-raw-client.js';

interface ContextStream {
  events: { id: string; state: string; size: number }[];
  close: () => void;
  waitFor: (match: (e: { id: string; state: string }) => boolean) => Promise<void>;
}

/** Opens the context's SSE stream and parses `status` events as they arrive. */
function openContextStream(server: SpoolServer, contextId: string): Promise<ContextStream> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${server.url}/api/v1/contexts/${contextId}/events`, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
      expect(res.headers['content-type']).to.match(/^text\/event-stream/);
      const events: ContextStream['events'] = [];
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (text: string) => {
        buffer += text;
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (data) events.push(JSON.parse(data.slice(6)));
          end = buffer.indexOf('\n\n');
        }
      });
      resolve({
        events,
        close: () => req.destroy(),
        waitFor: async (match) => {
          for (let i = 0; i < 500 && !events.some(match); i++) await new Promise((r) => setTimeout(r, 10));
          expect(events.some(match), JSON.stringify(events)).to.equal(true);
        },
      });
    });
    req.on('error', reject);
  });
}

describe('HTTP: status of an upload context as Server-Sent Events', () => {
  let server: SpoolServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });

  it('streams existing resources first, then every change, including resources created later, and nothing from other contexts', async () => {
    const first = await startRawUpload(server.wsUrl, { query: '?streamingUploadContextId=build-9' });
    await startRawUpload(server.wsUrl, { query: '?streamingUploadContextId=another' });
    const stream = await openContextStream(server, 'build-9');
    await stream.waitFor((e) => e.id === first.id && e.state === 'INITIATED');
    const second = await startRawUpload(server.wsUrl, { query: '?streamingUploadContextId=build-9' });
    await second.socket.fragment(Buffer.from('hello\n'), true);
    second.socket.sendJson({ '@': 'FinishUpload', checksum: md5Hex('hello\n') });
    await stream.waitFor((e) => e.id === second.id && e.state === 'COMPLETED');
    first.socket.ws.close(4000, 'gave up');
    await stream.waitFor((e) => e.id === first.id && e.state === 'FAILED');
    const ids = new Set(stream.events.map((e) => e.id));
    expect([...ids].sort()).to.deep.equal([first.id, second.id].sort());
    stream.close();
  });
});
