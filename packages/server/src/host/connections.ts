import type { Socket } from 'node:net';
import type { Farewell } from '../protocols/protocol.js';

/** A long-lived connection of some protocol, as shutdown sees it. */
interface Tracked extends Farewell {
  readonly protocol: string;
}

/**
 * Every socket the server holds, whatever protocol it speaks: counted against one
 * server-wide limit (`maxConnections`), and told goodbye at shutdown. Sockets are counted
 * from their TCP accept (HTTP, WebSocket upgrades of them, TCP protocols) to their close.
 */
export class Connections {
  private sockets = 0;
  private readonly tracked = new Set<Tracked>();

  constructor(private readonly maxConnections: number) {}

  /** Counts a new socket; false (and nothing counted) when the server is full: refuse it. */
  admit(socket: Socket): boolean {
    if (this.maxConnections > 0 && this.sockets >= this.maxConnections) return false;
    this.sockets++;
    socket.once('close', () => {
      this.sockets--;
    });
    return true;
  }

  get open(): number {
    return this.sockets;
  }

  /** Registers a long-lived connection for shutdown; returns the function that forgets it (call on its close). */
  track(protocol: string, farewell: Farewell): () => void {
    const entry: Tracked = { protocol, goodbye: () => farewell.goodbye(), terminate: () => farewell.terminate() };
    this.tracked.add(entry);
    return () => this.tracked.delete(entry);
  }

  /** Long-lived connections per protocol (health, logs). */
  byProtocol(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const { protocol } of this.tracked) counts[protocol] = (counts[protocol] ?? 0) + 1;
    return counts;
  }

  /** Tells every tracked connection goodbye, waits up to `timeoutMs` for them to go, then cuts the rest. */
  async sayGoodbye(timeoutMs: number): Promise<void> {
    for (const connection of [...this.tracked]) connection.goodbye();
    const deadline = Date.now() + timeoutMs;
    while (this.tracked.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    for (const connection of [...this.tracked]) connection.terminate();
  }
}
