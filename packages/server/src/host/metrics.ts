import type { Socket } from 'node:net';
import { ErrorCode, SpoolError } from '@spool/common';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Catalog } from '../core/catalog/catalog.js';
import type { CoreMetrics, SpoolCore } from '../core/spool-core.js';
import type { ByteStore } from '../core/storage/byte-store.js';
import type { UploadOutcome, UploadSession } from '../core/upload-session.js';

/**
 * What a protocol may count (`ProtocolDeps.metrics`): its own metrics, named
 * `spool_<protocol>_<name>` (a protocol's `-` becomes `_`), on the server's one registry.
 * Call each once, when the protocol is built; see docs/operations.md.
 */
export interface ProtocolMetrics {
  /** The server's registry (what `/metrics` answers with). */
  readonly registry: Registry;
  counter<L extends string = never>(name: string, help: string, labelNames?: readonly L[]): Counter<L>;
  gauge<L extends string = never>(name: string, help: string, labelNames?: readonly L[]): Gauge<L>;
  histogram<L extends string = never>(name: string, help: string, labelNames?: readonly L[], buckets?: number[]): Histogram<L>;
}

/** Byte counts of one socket already added to the counters, and whom they go to now. */
interface SocketAccount {
  protocol: string;
  read: number;
  written: number;
}

const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Requests no protocol claimed (404s, refusals) are counted under this name. */
export const NO_PROTOCOL = 'none';

/** An engine's failure (a lost connection, a full disk), not a domain answer like NAME_TAKEN. */
const isEngineError = (err: unknown): boolean =>
  !(err instanceof SpoolError) || err.code === ErrorCode.STORAGE_FAILURE || err.code === ErrorCode.INTERNAL;

/**
 * The server's metrics (Prometheus, `prom-client`), fed by the host and the core so no
 * protocol counts uploads, bytes or followers itself: each protocol gets the core through
 * `coreFor(protocol)`, which attributes the uploads and subscriptions it opens; the host
 * attributes each socket's bytes to the protocol it serves (`attribute`).
 */
export class ServerMetrics implements CoreMetrics {
  readonly registry = new Registry();
  private readonly uploadsActive: Gauge<'protocol'>;
  private readonly uploadsTotal: Counter<'protocol' | 'outcome'>;
  private readonly followers: Gauge<'protocol'>;
  private readonly bytesIn: Counter<'protocol'>;
  private readonly bytesOut: Counter<'protocol'>;
  private readonly checkpointSeconds: Histogram;
  private readonly fanOutSeconds: Histogram;
  private readonly backendErrors: Counter<'backend' | 'operation'>;
  readonly httpRequests: Counter<'protocol' | 'method' | 'status'>;
  readonly httpSeconds: Histogram<'protocol'>;
  readonly websocketSessions: Counter<'protocol' | 'outcome'>;
  private readonly sockets = new Map<Socket, SocketAccount>();

  constructor(connections: () => Record<string, number>) {
    const registry = this.registry;
    collectDefaultMetrics({ register: registry });
    this.uploadsActive = new Gauge({
      name: 'spool_uploads_active',
      help: 'Uploads with a writer open now',
      labelNames: ['protocol'],
      registers: [registry],
    });
    this.uploadsTotal = new Counter({
      name: 'spool_uploads_total',
      help: 'Upload writers closed, by how (completed, failed, released for a resume, fenced by another node)',
      labelNames: ['protocol', 'outcome'],
      registers: [registry],
    });
    this.followers = new Gauge({
      name: 'spool_followers',
      help: 'Live subscriptions to resource (or context) statuses: followers and watchers',
      labelNames: ['protocol'],
      registers: [registry],
    });
    const flush = () => this.flushSockets();
    this.bytesIn = new Counter({
      name: 'spool_bytes_in_total',
      help: 'Bytes read from clients',
      labelNames: ['protocol'],
      registers: [registry],
      collect: flush,
    });
    this.bytesOut = new Counter({
      name: 'spool_bytes_out_total',
      help: 'Bytes written to clients',
      labelNames: ['protocol'],
      registers: [registry],
      collect: flush,
    });
    this.checkpointSeconds = new Histogram({
      name: 'spool_checkpoint_duration_seconds',
      help: 'Recording a checkpoint of an upload (sync, catalog update)',
      buckets: DURATION_BUCKETS,
      registers: [registry],
    });
    this.fanOutSeconds = new Histogram({
      name: 'spool_fanout_duration_seconds',
      help: 'Publishing a status to every subscriber (event bus)',
      buckets: DURATION_BUCKETS,
      registers: [registry],
    });
    this.backendErrors = new Counter({
      name: 'spool_backend_errors_total',
      help: 'Failures of the catalog or the byte storage (engine errors, not domain answers)',
      labelNames: ['backend', 'operation'],
      registers: [registry],
    });
    this.httpRequests = new Counter({
      name: 'spool_http_requests_total',
      help: 'Finished HTTP requests',
      labelNames: ['protocol', 'method', 'status'],
      registers: [registry],
    });
    this.httpSeconds = new Histogram({
      name: 'spool_http_request_duration_seconds',
      help: 'HTTP requests, from their headers to the end of their answer',
      labelNames: ['protocol'],
      buckets: [...DURATION_BUCKETS, 10, 30, 60],
      registers: [registry],
    });
    this.websocketSessions = new Counter({
      name: 'spool_websocket_sessions_total',
      help: 'Finished WebSocket sessions, by close code class',
      labelNames: ['protocol', 'outcome'],
      registers: [registry],
    });
    new Gauge({
      name: 'spool_connections',
      help: 'Long-lived connections (WebSocket, TCP protocols) open now',
      labelNames: ['protocol'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [protocol, count] of Object.entries(connections())) this.set({ protocol }, count);
      },
    });
  }

  checkpointed(seconds: number): void {
    this.checkpointSeconds.observe(seconds);
  }

  fannedOut(seconds: number): void {
    this.fanOutSeconds.observe(seconds);
  }

  /** The metrics a protocol adds of its own. */
  forProtocol(protocol: string): ProtocolMetrics {
    const prefix = `spool_${protocol.replace(/[^a-zA-Z0-9_]/g, '_')}_`;
    const registers = [this.registry];
    return {
      registry: this.registry,
      counter: (name, help, labelNames = []) => new Counter({ name: prefix + name, help, labelNames, registers }),
      gauge: (name, help, labelNames = []) => new Gauge({ name: prefix + name, help, labelNames, registers }),
      histogram: (name, help, labelNames = [], buckets = DURATION_BUCKETS) =>
        new Histogram({ name: prefix + name, help, labelNames, buckets, registers }),
    };
  }

  /**
   * The core as one protocol sees it: the same object, except that the uploads it opens and
   * the subscriptions it takes are counted under its name.
   */
  coreFor(protocol: string, core: SpoolCore): SpoolCore {
    const opened = async (session: Promise<UploadSession>) => {
      const opened = await session;
      this.uploadsActive.inc({ protocol });
      opened.once('closed', (outcome: UploadOutcome) => {
        this.uploadsActive.dec({ protocol });
        this.uploadsTotal.inc({ protocol, outcome });
      });
      return opened;
    };
    const followed = async (unsubscribe: Promise<() => void>) => {
      const stop = await unsubscribe;
      this.followers.inc({ protocol });
      let stopped = false;
      return () => {
        if (!stopped) this.followers.dec({ protocol });
        stopped = true;
        stop();
      };
    };
    const wrapped: Partial<Record<keyof SpoolCore, unknown>> = {
      createUpload: (...args: Parameters<SpoolCore['createUpload']>) => opened(core.createUpload(...args)),
      resumeUpload: (...args: Parameters<SpoolCore['resumeUpload']>) => opened(core.resumeUpload(...args)),
      subscribe: (...args: Parameters<SpoolCore['subscribe']>) => followed(core.subscribe(...args)),
      subscribeContext: (...args: Parameters<SpoolCore['subscribeContext']>) => followed(core.subscribeContext(...args)),
    };
    return new Proxy(core, {
      get(target, property) {
        if (property in wrapped) return wrapped[property as keyof SpoolCore];
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  /** The catalog, counting its engine's failures. */
  countCatalogErrors(catalog: Catalog): Catalog {
    return this.countErrors('catalog', catalog);
  }

  /** The byte store (and its writers and read streams), counting their failures. */
  countStorageErrors(store: ByteStore): ByteStore {
    return this.countErrors('storage', store);
  }

  private countErrors<T extends object>(backend: string, target: T): T {
    const count = (operation: string) => (err: unknown) => {
      if (isEngineError(err)) this.backendErrors.inc({ backend, operation });
      throw err;
    };
    // One wrapper per method, made on first use: writers' `write` is on the upload path.
    const wrappers = new Map<string, (...args: unknown[]) => unknown>();
    return new Proxy(target, {
      get: (object, property) => {
        const value: unknown = Reflect.get(object, property, object);
        if (typeof value !== 'function' || typeof property !== 'string') return value;
        const known = wrappers.get(property);
        if (known) return known;
        const wrapper = (...args: unknown[]) => {
          let result: unknown;
          try {
            result = (value as (...a: unknown[]) => unknown).apply(object, args);
          } catch (err) {
            count(property)(err);
          }
          if (result instanceof Promise) {
            return result.then(
              (resolved: unknown) => (property === 'openWriter' ? this.countErrors(backend, resolved as object) : resolved),
              count(property),
            );
          }
          if (property === 'createReadStream' && result && typeof (result as NodeJS.ReadableStream).on === 'function') {
            (result as NodeJS.ReadableStream).on('error', (err) => {
              if (isEngineError(err)) this.backendErrors.inc({ backend, operation: property });
            });
          }
          return result;
        };
        wrappers.set(property, wrapper);
        return wrapper;
      },
    });
  }

  /**
   * From now on the bytes of `socket` count for `protocol` (an HTTP keep-alive socket may
   * serve several protocols in turn: what it moved until now goes to the previous one).
   */
  attribute(socket: Socket, protocol: string): void {
    const account = this.sockets.get(socket);
    if (account) {
      this.flush(socket, account);
      account.protocol = protocol;
      return;
    }
    // From zero: the request that made us attribute it was read already.
    this.sockets.set(socket, { protocol, read: 0, written: 0 });
    socket.once('close', () => {
      const last = this.sockets.get(socket);
      if (last) this.flush(socket, last);
      this.sockets.delete(socket);
    });
  }

  private flush(socket: Socket, account: SocketAccount): void {
    const read = socket.bytesRead;
    const written = socket.bytesWritten;
    if (read > account.read) this.bytesIn.inc({ protocol: account.protocol }, read - account.read);
    if (written > account.written) this.bytesOut.inc({ protocol: account.protocol }, written - account.written);
    account.read = read;
    account.written = written;
  }

  /** Live sockets' bytes so far, so a scrape during a long upload sees them. */
  private flushSockets(): void {
    for (const [socket, account] of this.sockets) this.flush(socket, account);
  }
}
