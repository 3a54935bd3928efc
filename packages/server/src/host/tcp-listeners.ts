import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'winston';
import type { Farewell, Protocol, TcpMount } from '../protocols/protocol.js';
import type { Connections } from './connections.js';
import type { ServerMetrics } from './metrics.js';
import { bytesSince } from './request-log.js';

export interface TcpListener {
  readonly protocol: string;
  readonly server: Server;
  /** The bound port (the configured one, or the one the OS chose for 0). */
  readonly port: number;
}

/**
 * Listens for one protocol's TCP mount: each socket is counted against the server's
 * connection limit (refused ones get the mount's `busy` answer, else are closed), handed
 * to the mount, and tracked for shutdown. An exception out of the mount's `accept` cuts
 * only that socket.
 */
export async function listenTcp(
  protocol: Protocol,
  mount: TcpMount,
  connections: Connections,
  logger: Logger,
  metrics: ServerMetrics,
): Promise<TcpListener> {
  const server = createServer({ allowHalfOpen: mount.allowHalfOpen ?? false }, (socket: Socket) => {
    // Until the protocol attaches its own handling, a reset must not become an uncaught 'error'.
    socket.on('error', () => socket.destroy());
    if (!connections.admit(socket)) {
      logger.warn('connection refused: server at maxConnections', { remote: socket.remoteAddress });
      try {
        if (mount.busy) mount.busy(socket);
        else socket.destroy();
      } catch {
        socket.destroy();
      }
      return;
    }
    metrics.attribute(socket, protocol.name);
    const started = performance.now();
    const bytes = bytesSince(socket);
    socket.once('close', (hadError) => {
      logger.info('tcp session', {
        protocol: protocol.name,
        outcome: hadError ? 'error' : 'closed',
        ...bytes(),
        durationMs: Math.round(performance.now() - started),
        remote: socket.remoteAddress,
      });
    });
    let farewell: Farewell | undefined;
    try {
      farewell = mount.accept(socket, logger);
    } catch (err) {
      logger.error('tcp connection failed', { remote: socket.remoteAddress, error: (err as Error).message });
      socket.destroy();
      return;
    }
    const forget = connections.track(
      protocol.name,
      farewell ?? {
        goodbye: () => socket.end(),
        terminate: () => socket.destroy(),
      },
    );
    socket.once('close', forget);
  });
  server.on('error', (err) => logger.error('tcp listener error', { error: err.message }));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(mount.port, mount.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : mount.port;
  logger.info('tcp listener started', { host: mount.host, port });
  return { protocol: protocol.name, server, port };
}
