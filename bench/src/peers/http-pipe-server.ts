/**
 * The ceiling of a pipe through a server: plain node:http, a PUT and a GET meeting at the
 * same path (whichever comes first waits), `request.pipe(response)`, nothing else — no
 * progress lines, no registration, no checks.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startPlainHttpServer } from './http-common.js';

const senders = new Map<string, { request: IncomingMessage; response: ServerResponse }>();
const receivers = new Map<string, ServerResponse>();

function run(sender: { request: IncomingMessage; response: ServerResponse }, receiver: ServerResponse): void {
  receiver.writeHead(200, { 'Content-Length': sender.request.headers['content-length'] ?? '' });
  sender.request.pipe(receiver);
  sender.request.on('end', () => sender.response.end());
}

await startPlainHttpServer((request, response) => {
  const path = request.url ?? '/';
  if (request.method === 'PUT' || request.method === 'POST') {
    const sender = { request, response };
    const receiver = receivers.get(path);
    if (receiver) {
      receivers.delete(path);
      run(sender, receiver);
    } else senders.set(path, sender);
    return;
  }
  const sender = senders.get(path);
  if (sender) {
    senders.delete(path);
    run(sender, response);
  } else receivers.set(path, response);
});
