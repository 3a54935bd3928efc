/**
 * A TCP proxy on 127.0.0.1 that cuts connections at random points: the network failure
 * a resumable protocol must survive. Seeded, so a failing run can be replayed; bounded
 * (at most `maxCuts` cuts in total, then connections pass through untouched).
 */
import net, { type AddressInfo } from 'node:net';

export interface CuttingProxyOptions {
  /** Where connections are forwarded (on 127.0.0.1). */
  targetPort: number;
  /** Seed of the random cut points. */
  seed: number;
  /** Most connections cut over the proxy's life. */
  maxCuts: number;
  /** A connection chosen for a cut is cut after a random byte count (both directions) in [minBytes, maxBytes]. */
  minBytes: number;
  maxBytes: number;
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class CuttingProxy {
  /** Connections cut so far. */
  cuts = 0;
  /** Connections accepted so far. */
  connections = 0;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly random: () => number;

  private constructor(private readonly options: CuttingProxyOptions) {
    this.random = seededRandom(options.seed);
    this.server = net.createServer((client) => this.relay(client));
  }

  static async start(options: CuttingProxyOptions): Promise<CuttingProxy> {
    const proxy = new CuttingProxy(options);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** `ws://127.0.0.1:<port>`. */
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: net.Socket): void {
    this.connections++;
    const upstream = net.connect(this.options.targetPort, '127.0.0.1');
    this.track(client);
    this.track(upstream);
    const { minBytes, maxBytes, maxCuts } = this.options;
    // Drawn per connection while cuts remain; Infinity: this connection is never cut.
    let budget = this.cuts < maxCuts ? minBytes + Math.floor(this.random() * (maxBytes - minBytes + 1)) : Number.POSITIVE_INFINITY;
    let cut = false;
    const cutNow = () => {
      if (cut) return;
      cut = true;
      this.cuts++;
      client.destroy();
      upstream.destroy();
    };
    const pipe = (from: net.Socket, to: net.Socket) => {
      from.on('data', (chunk: Buffer) => {
        if (cut) return;
        if (this.cuts >= maxCuts) budget = Number.POSITIVE_INFINITY; // another connection used the last cut
        if (chunk.length >= budget) {
          // Cut mid-chunk: the bytes before the cut point go through, the rest is lost.
          if (budget > 0) to.write(chunk.subarray(0, budget));
          cutNow();
          return;
        }
        budget -= chunk.length;
        if (!to.write(chunk)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
      });
      from.on('end', () => to.end());
      // A side that failed (reset, refused) takes the other down with it.
      from.on('close', (hadError: boolean) => {
        if (hadError) to.destroy();
      });
    };
    pipe(client, upstream);
    pipe(upstream, client);
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.sockets.delete(socket);
    });
  }
}
