/**
 * The tus ceiling: the least a tus 1.0 server can do for tus-js-client — `POST /files`
 * answers a Location, `PATCH` counts the body's bytes and discards them, `HEAD` reports
 * the offset. Nothing is stored, checked or indexed: no real server can be faster, so
 * its rate bounds what any server reaches with this client on this machine.
 */
import { randomUUID } from 'node:crypto';
import { startPlainHttpServer } from './http-common.js';

const TUS = { 'Tus-Resumable': '1.0.0' };
const offsets = new Map<string, number>();

await startPlainHttpServer((request, response) => {
  const id = request.url?.split('/')[2];
  if (request.method === 'POST' && request.url === '/files') {
    const created = randomUUID();
    offsets.set(created, 0);
    response.writeHead(201, { ...TUS, Location: `/files/${created}` }).end();
    return;
  }
  const offset = id === undefined ? undefined : offsets.get(id);
  if (id === undefined || offset === undefined) {
    response.writeHead(404, TUS).end();
    return;
  }
  if (request.method === 'HEAD') {
    response.writeHead(200, { ...TUS, 'Upload-Offset': String(offset), 'Cache-Control': 'no-store' }).end();
    return;
  }
  if (request.method !== 'PATCH') {
    response.writeHead(405, TUS).end();
    return;
  }
  let received = offset;
  request.on('data', (chunk: Buffer) => {
    received += chunk.length;
  });
  request.on('end', () => {
    offsets.set(id, received);
    response.writeHead(204, { ...TUS, 'Upload-Offset': String(received) }).end();
  });
});
