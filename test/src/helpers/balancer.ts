/**
 * A TCP load balancer on 127.0.0.1 without sticky sessions: each connection goes to the
 * next backend (round robin) that accepts it, so a client that reconnects after its node
 * died lands on another one. `prefer` pins new connections to one backend while it is up
 * (to place an upload on the node a test will kill).
 */
import net, { type AddressInfo } from 'node:net';

export class Balancer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private next = 0;
  /** Index of the backend new connections try first; undefined: round robin. */
  prefer: number | undefined;
  /** Backends taken out of rotation (a node about to be killed or paused). */
  readonly down = new Set<number>();

  private constructor(readonly ports: readonly number[]) {
    this.server = net.createServer((client) => this.route(client));
  }

  static async start(ports: readonly number[]): Promise<Balancer> {
    const balancer = new Balancer(ports);
    await new Promise<void>((resolve) => balancer.server.listen(0, '127.0.0.1', resolve));
    return balancer;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get wsUrl(): string {
    return this.url.replace(/^http/, 'ws');
  }

  /** Cuts every connection now (what an engine that goes away does to its clients). */
  cutAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private route(client: net.Socket): void {
    this.track(client);
    client.pause();
    const order = this.ports.map((_, i) => (this.prefer !== undefined ? this.prefer + i : this.next + i) % this.ports.length);
    this.next = (this.next + 1) % this.ports.length;
    const attempt = (k: number) => {
      const index = order[k];
      if (index === undefined) {
        client.destroy();
        return;
      }
      if (this.down.has(index)) {
        attempt(k + 1);
        return;
      }
      const upstream = net.connect(this.ports[index] as number, '127.0.0.1');
      this.track(upstream);
      let connected = false;
      upstream.on('error', () => {
        // Refused: that node is down, try the next; once piped, the client's connection goes with it.
        if (connected) client.destroy();
        else attempt(k + 1);
      });
      upstream.once('connect', () => {
        connected = true;
        client.on('error', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
        upstream.once('close', () => client.destroy());
        client.once('close', () => upstream.destroy());
      });
    };
    attempt(0);
  }
}
