import type { ResourceStatus, SpoolReferences } from '@spool/common';
import type { Logger } from 'winston';
import type { SpoolConfig } from '../../config/schema.js';
import type { SpoolCore } from '../../core/spool-core.js';
import type { ResourceRecord } from '../../core/types.js';
import { resourceFields } from '../shared/resource-view.js';
import type { HspExchange } from './connection.js';

/** What every HSP route works with. */
export interface HspContext {
  core: SpoolCore;
  config: SpoolConfig;
  logger: Logger;
  streams: HspStreams;
  /** The URIs a resource is read at over the other protocols (with its read token, when one was issued). */
  references(id: string, readToken?: string): SpoolReferences;
}

interface ActiveStream {
  exchange: HspExchange;
  /** Settles once the stream's connection let go of the writer. */
  done: Promise<void>;
}

/**
 * The streams HSP connections of this server are receiving, by resource id. A client
 * that lost its connection may come back before the server noticed (a half-open TCP
 * connection notices only at its idle limit): resuming by key takes the stream over
 * from the old connection instead of failing on the writer it still holds.
 */
export class HspStreams {
  private readonly active = new Map<string, ActiveStream>();

  /** Registers the stream `id` received on `exchange`; call the returned function once its writer is released or ended. */
  add(id: string, exchange: HspExchange): () => void {
    let settle: () => void = () => undefined;
    const entry: ActiveStream = { exchange, done: new Promise<void>((resolve) => (settle = resolve)) };
    this.active.set(id, entry);
    return () => {
      if (this.active.get(id) === entry) this.active.delete(id);
      settle();
    };
  }

  /** Stops the stream `id` if one of our connections receives it, and waits until that connection let go of it. */
  async takeOver(id: string): Promise<void> {
    const entry = this.active.get(id);
    if (!entry) return;
    entry.exchange.cut('takeover');
    await entry.done;
  }
}

/** A resource as the `/status` and `/list` answers show it: metadata, current status, where to read it. */
export function resourceJson(ctx: HspContext, record: ResourceRecord, status: ResourceStatus) {
  return { ...resourceFields(record, status), references: ctx.references(record.id) };
}
