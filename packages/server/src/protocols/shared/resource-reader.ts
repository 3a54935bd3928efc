import { isTerminal, type ResourceStatus } from '@spool/common';
import type { z } from 'zod';
import { CatchUpPace } from '../../core/catch-up-reads.js';
import type { SpoolCore } from '../../core/spool-core.js';
import type { WsConnection } from '../../transport/websocket/index.js';
import type { MessageDispatcher } from './message-dispatcher.js';
import { OutboundPump } from './outbound-pump.js';
import { runGuarded } from './run-guarded.js';
import { type StatusTicker, statusTicker } from './status-ticker.js';
import { subscribeWhileOpen } from './subscribe-while-open.js';

/**
 * What every WebSocket connection that reads one resource does the same way, whatever
 * its protocol: status from the core and each client message (dispatched through the
 * endpoint's message table) wake one ordered outbound pump; binary input is refused;
 * anything that throws ends the connection through `fail`. A protocol supplies what its
 * wire sends (`step`) and how it refuses (`fail`).
 */
export abstract class ResourceReaderConnection<S extends z.ZodType> {
  protected closed = false;
  /** Piece size this connection's reads behind the tail have earned (kept from one range to the next). */
  private readonly pace = new CatchUpPace();
  /** When the last status-only message went (see `statusMayGo`). */
  private statusSentAt = Number.NEGATIVE_INFINITY;
  private waitingForTick = false;
  /** Wakes this connection for a held-back status (one for the whole process). */
  private readonly ticker: StatusTicker = statusTicker;
  protected readonly pump = new OutboundPump(
    () => this.step(),
    () => this.closed,
    (err) => this.fail(err),
  );

  constructor(
    protected readonly conn: WsConnection,
    protected readonly core: SpoolCore,
    protected readonly resourceId: string,
    private readonly messages: MessageDispatcher<S>,
  ) {
    conn.on('text', (text: string) => {
      if (this.closed) return;
      runGuarded(
        () =>
          this.messages.dispatch(text, (message) => {
            this.onMessage(message);
            this.pump.kick();
          }),
        (err) => this.fail(err),
      );
    });
    conn.on('binaryStart', () => this.onBinary());
    conn.on('close', () => {
      this.closed = true;
    });
  }

  /**
   * Bytes `[start, end)` behind the tail, in the core's scheduled pieces (ingest first,
   * bounded memory), at the piece size this connection has earned so far.
   */
  protected openCatchUp(start: number, end: number): Promise<AsyncIterable<Buffer>> {
    return this.core.openCatchUp(this.resourceId, start, end, this.pace);
  }

  /**
   * Whether a status-only message (no bytes with it) may be sent now: the first one, an
   * end, or one at least the ticker's spacing after the last; else false, and the pump
   * runs again at the next tick, which sends the newest status then. Followers at the
   * tail get their bytes (and the status with them) at once regardless.
   */
  protected statusMayGo(status: ResourceStatus): boolean {
    if (isTerminal(status.state) || performance.now() - this.statusSentAt >= this.ticker.spacingMs) return true;
    if (!this.waitingForTick) {
      this.waitingForTick = true;
      this.ticker.wakeAtTick(this.onTick);
    }
    return false;
  }

  /** Call when a status-only message was sent. */
  protected statusSent(): void {
    this.statusSentAt = performance.now();
  }

  private readonly onTick = (): void => {
    this.waitingForTick = false;
    this.statusSentAt = Number.NEGATIVE_INFINITY;
    this.pump.kick();
  };

  /** Subscribes to the resource (an unknown id ends the connection through `fail`). */
  async start(): Promise<void> {
    try {
      await subscribeWhileOpen(this.core, this.resourceId, this.conn, (status) => {
        this.onStatus(status);
        this.pump.kick();
      });
    } catch (err) {
      this.fail(err);
    }
  }

  /** A newer status (never older: the core guarantees the order). */
  protected abstract onStatus(status: ResourceStatus): void;
  /** A parsed, authorized client message; the pump runs right after. */
  protected abstract onMessage(message: z.infer<S>): void;
  /** The client sent binary data, which a reader connection never accepts. */
  protected abstract onBinary(): void;
  /** What the pump sends next (see OutboundPump). */
  protected abstract step(): Promise<void> | boolean;
  /** Ends the connection on an error, the protocol's way. */
  protected abstract fail(err: unknown): void;
}
