/**
 * A scripted HSP server for the SDK's tests: each accepted connection is handed to the
 * test's script, which reads packets and raw bytes and answers exactly what the case
 * needs (cut here, claim that offset, refuse with that status).
 */
import net, { type AddressInfo } from 'node:net';
import { encodePacket, type HspHeadersInit, type HspPacket, HspPacketParser } from '@spool/common';

export class FakeHspConnection {
  private readonly parser = new HspPacketParser({ maxHeaderBytes: 0xffff, maxPayloadBytes: 1024 * 1024 });
  private wake: (() => void) | undefined;
  private ended = false;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.parser.push(chunk);
      this.wake?.();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
    socket.on('error', () => undefined);
  }

  private async waitForBytes(): Promise<void> {
    if (this.ended) throw new Error('client closed the connection');
    await new Promise<void>((resolve) => {
      this.wake = resolve;
    });
    this.wake = undefined;
  }

  async packet(): Promise<HspPacket> {
    for (;;) {
      const packet = this.parser.next();
      if (packet) return packet;
      await this.waitForBytes();
    }
  }

  /** Exactly `count` raw bytes (a stream's data). */
  async raw(count: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let left = count;
    while (left > 0) {
      const got = this.parser.takeBytes(left);
      for (const part of got) left -= part.length;
      parts.push(...got);
      if (left > 0) await this.waitForBytes();
    }
    return Buffer.concat(parts);
  }

  reply(headers: HspHeadersInit, payload?: Buffer | string): void {
    this.socket.write(encodePacket(headers, payload));
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export class FakeHspServer {
  /** Connections accepted so far. */
  connections = 0;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  private constructor(script: (conn: FakeHspConnection, index: number) => Promise<void>) {
    this.server = net.createServer((socket) => {
      const index = this.connections++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      const conn = new FakeHspConnection(socket);
      script(conn, index).catch(() => conn.destroy());
    });
  }

  static async start(script: (conn: FakeHspConnection, index: number) => Promise<void>): Promise<FakeHspServer> {
    const fake = new FakeHspServer(script);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
