import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Request, Response } from 'express';
import type { Logger } from 'winston';
import type { SpoolConfig } from '../config/schema.js';
import type { OwnerOfName, Principal } from '../core/access/access-control.js';
import type { KeyOwners } from '../core/cluster/key-owners.js';
import type { SpoolCore } from '../core/spool-core.js';
import type { ProtocolMetrics } from '../host/metrics.js';
import type { HttpErrorResponse } from '../transport/http/errors.js';
import type { WsConnection, WsHandshakeOptions } from '../transport/websocket/index.js';
import type { AccessRule } from './access-rule.js';

/**
 * A protocol Spool speaks, as the host mounts it: a folder under `protocols/` that
 * translates its wire into core calls and core errors into its wire errors, and
 * declares here what it serves. `server.ts` composes a list of them; adding a protocol
 * is a new folder and one line in that list (docs/architecture.md).
 *
 * Every entry a protocol declares — HTTP route, WebSocket endpoint, TCP listener —
 * names its access rule; the host enforces it before the handler runs, and catches
 * whatever the handler throws (that client gets its error, the process carries on).
 */
export interface Protocol {
  /** Stable short name, in logs and docs: `http`, `step-websocket`, `spool-websocket` … */
  readonly name: string;
  /** Routes on the shared HTTP server, under a base path. */
  readonly http?: HttpMount;
  /** Upgrade paths on the shared HTTP server. */
  readonly websocket?: readonly WebSocketEndpoint[];
  /** A TCP listener of its own. */
  readonly tcp?: TcpMount;
  /** Called at shutdown before connections are told goodbye (timers, pending sessions). */
  stop?(): Promise<void> | void;
}

/** A protocol as `server.ts` lists it: its name, and how to build it. */
export interface ProtocolDefinition {
  readonly name: string;
  create(deps: ProtocolDeps): Protocol;
  /**
   * For a protocol whose resources belong to users (blobs): the user a resource belongs
   * to, by its name. Access control lets only that user's token (or an admin) touch it,
   * on every protocol (AccessControl's `ownerOfName`).
   */
  readonly ownerOfName?: OwnerOfName;
}

/** Names a protocol's builder; the logger it gets carries `protocol: <name>`. */
export function defineProtocol(
  name: string,
  build: (deps: ProtocolDeps) => Omit<Protocol, 'name'>,
  options: { ownerOfName?: OwnerOfName } = {},
): ProtocolDefinition {
  return { name, create: (deps) => ({ ...build({ ...deps, logger: deps.logger.child({ protocol: name }) }), name }), ...options };
}

/** The owner of a resource by its name, asking every protocol that owns names. */
export function ownerOfNameIn(protocols: readonly ProtocolDefinition[]): OwnerOfName | undefined {
  const owning = protocols.flatMap((protocol) => (protocol.ownerOfName ? [protocol.ownerOfName] : []));
  if (owning.length === 0) return undefined;
  return (name) => {
    for (const ownerOf of owning) {
      const owner = ownerOf(name);
      if (owner !== undefined) return owner;
    }
    return undefined;
  };
}

/** What every protocol is built from. */
export interface ProtocolDeps {
  core: SpoolCore;
  config: SpoolConfig;
  /** Already a child logger carrying `protocol: <name>`. */
  logger: Logger;
  urls: PublicUrls;
  /** Its own metrics, `spool_<protocol>_…` (uploads, followers and bytes are counted for it already). */
  metrics: ProtocolMetrics;
  /** Where the server is in its life (readiness). */
  lifecycle: Lifecycle;
  /** Which node of a cluster owns a meeting point (one node: always this one). */
  owners: KeyOwners;
}

/** `starting` until every listener is up, `serving`, then `stopping` from the start of shutdown. */
export interface Lifecycle {
  readonly state: 'starting' | 'serving' | 'stopping';
}

/** The bases clients reach this server at: the public URL if configured, else the request's `Host`. */
export interface PublicUrls {
  /** `http(s)://host[:port][/prefix]` without a trailing slash. */
  httpBase(req?: IncomingMessage): string;
  /** `ws(s)://host[:port][/prefix]` without a trailing slash. */
  wsBase(req?: IncomingMessage): string;
}

// ---- HTTP ---------------------------------------------------------------------------

export type HttpMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

/** Handles one authorized request; throw (or reject) to answer with the mount's error mapping. */
export type HttpHandler = (req: Request, res: Response, principal: Principal) => Promise<void> | void;

export interface HttpRoute {
  /** GET answers HEAD too, unless the path has a HEAD route of its own. */
  readonly method: HttpMethod;
  /** express path syntax, relative to the mount's base path (`/resources/:id`). */
  readonly path: string;
  readonly access: AccessRule<Request>;
  readonly handle: HttpHandler;
}

export interface HttpMount {
  /** `/api/v1`, `/` … Longer base paths are matched first. */
  readonly basePath: string;
  readonly routes: readonly HttpRoute[];
  /** The protocol's one error mapping; refusals of the access rules go through it too. */
  readonly errorResponse: (err: unknown) => HttpErrorResponse;
  /** Response headers a browser page may read (CORS `Access-Control-Expose-Headers`). */
  readonly exposedHeaders?: readonly string[];
  /** Headers added to the host's `OPTIONS` answers on the mount's paths (what the protocol supports: tus `Tus-*`). */
  readonly optionsHeaders?: Readonly<Record<string, string>>;
  /**
   * `X-HTTP-Method-Override` on a POST names the method to route it as (for clients that
   * can send only GET and POST); the access rule of that method's route applies.
   */
  readonly methodOverride?: boolean;
  /**
   * The credential of a request, for a protocol whose clients present it their own way
   * (Soledad's `Authorization: Token …`); `standard` is the one every path takes
   * (`Authorization: Bearer`, `?token=`). Default: `standard`. May throw (a malformed
   * credential): the answer goes through `errorResponse`.
   */
  readonly credential?: (req: Request, standard: string | undefined) => string | undefined;
}

// ---- WebSocket ------------------------------------------------------------------------

/** An upgrade request as an endpoint sees it. */
export interface WebSocketRequest {
  readonly http: IncomingMessage;
  /** The request target, parsed. */
  readonly url: URL;
  /** For a `prefix` endpoint: the rest of the path after the prefix, percent-decoded. */
  readonly rest: string;
}

export interface WebSocketEndpoint {
  /** An exact path, or with `prefix: true` the start of every path it serves (followed by a non-empty rest). */
  readonly path: string;
  readonly prefix?: boolean;
  /** Checked once the connection is open (a refusal is a close, which Step's Java clients understand). */
  readonly access: AccessRule<WebSocketRequest>;
  /** Messages and what each needs (the endpoint's handler dispatches them through `protocols/shared`). */
  readonly messages?: Readonly<Record<string, AccessRule<never>>>;
  readonly handshake?: WsHandshakeOptions;
  /** Ends a connection on an error, the protocol's way (close code + reason, maybe a message first). */
  readonly refuse: (conn: WsConnection, err: unknown, logger: Logger) => void;
  /** Takes an open, authorized connection (inbound paused: resume when listening). */
  readonly accept: (conn: WsConnection, request: WebSocketRequest, principal: Principal, logger: Logger) => Promise<void> | void;
}

// ---- TCP ------------------------------------------------------------------------------

/** How the host tells one connection goodbye at shutdown, and cuts it when goodbye takes too long. */
export interface Farewell {
  goodbye(): void;
  terminate(): void;
}

export interface TcpMount {
  readonly host: string;
  /** 0 = any free port (the bound one is logged and reported by the server). */
  readonly port: number;
  /**
   * Every request the protocol serves on this listener and what each needs: the table its
   * dispatcher enforces (through `enforce`/`authorizeRule`), listed in the permission table.
   */
  readonly requests: Readonly<Record<string, AccessRule<never>>>;
  /** Keep writing after the client half-closes (it may send a request, then shut its side, then read the answer). */
  readonly allowHalfOpen?: boolean;
  /** Takes one accepted socket; returns how to say goodbye to it (default: end, then destroy). */
  readonly accept: (socket: Socket, logger: Logger) => Farewell | undefined;
  /** Answers a socket refused because the server is at `maxConnections` (default: closed at once). */
  readonly busy?: (socket: Socket) => void;
}
