import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A plain node:http server on 127.0.0.1 (free port) that prints
 * `{"url":"http://127.0.0.1:PORT"}` on stdout once listening, and exits on SIGTERM.
 */
export function startPlainHttpServer(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(handler);
    // Uploads of 1 GiB may take longer than Node's default whole-request timeout.
    server.requestTimeout = 0;
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
      resolve(server);
    });
    process.once('SIGTERM', () => {
      server.closeAllConnections();
      server.close(() => process.exit(0));
    });
  });
}
