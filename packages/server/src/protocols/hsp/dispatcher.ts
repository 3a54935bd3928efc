import { ErrorCode, HSP_HEADER, type HspPacket, InvalidMessageError, isHspDataFormat, SpoolError } from '@spool/common';
import type { AccessControl, Principal } from '../../core/access/access-control.js';
import { type AccessRule, enforce } from '../access-rule.js';
import type { HspExchange, HspRequest, HspRouteTable } from './connection.js';

/** One HSP route: what it needs, whether it takes stream requests, and its handler. */
export interface HspRoute {
  readonly access: AccessRule<HspRequest>;
  /** Takes stream requests (`x-stream`); every other route refuses them with `x-stream: -1`. */
  readonly streams?: boolean;
  /** Handles an authorized request; throw (before answering) to answer with the error's status. */
  handle(request: HspRequest, exchange: HspExchange, principal: Principal): Promise<void>;
}

/** The credential of a request: its `auth` header, a bare token or `Bearer <token>`. */
export function credentialOfAuth(auth: string | undefined): string | undefined {
  if (auth === undefined || auth === '') return undefined;
  return auth.replace(/^Bearer\s+/i, '');
}

/**
 * The HSP route table's dispatcher: exact route match (unknown → 69), `data-format`
 * checked, the route's access rule enforced with the `auth` credential before its handler
 * runs, and every error before an answer mapped once (status-mapping.ts).
 */
export class HspDispatcher implements HspRouteTable {
  constructor(
    private readonly routes: Readonly<Record<string, HspRoute>>,
    private readonly access: AccessControl,
    /** Counts each request by route (a known one, else `unknown`) and outcome. */
    private readonly counted: (route: string, outcome: 'ok' | 'error') => void = () => undefined,
  ) {}

  async dispatch(packet: HspPacket, exchange: HspExchange): Promise<void> {
    const name = packet.headers.get(HSP_HEADER.ROUTE);
    const route = name !== undefined && Object.hasOwn(this.routes, name) ? name : 'unknown';
    try {
      const { request, route } = this.resolve(packet);
      const principal = await enforce(this.access, route.access, credentialOfAuth(packet.headers.get(HSP_HEADER.AUTH)), request);
      await route.handle(request, exchange, principal);
    } catch (err) {
      this.counted(route, 'error');
      if (exchange.answered) throw err;
      await exchange.replyError(err);
      return;
    }
    this.counted(route, 'ok');
  }

  private resolve(packet: HspPacket): { request: HspRequest; route: HspRoute } {
    const name = packet.headers.get(HSP_HEADER.ROUTE);
    if (name === undefined) throw new InvalidMessageError('No route header: every HSP request names its route (route:/ping)');
    const route = Object.hasOwn(this.routes, name) ? this.routes[name] : undefined;
    if (!route) {
      throw new SpoolError(
        ErrorCode.RESOURCE_NOT_FOUND,
        `Unknown route ${name} (this server serves ${Object.keys(this.routes).join(', ')})`,
      );
    }
    const format = packet.headers.get(HSP_HEADER.DATA_FORMAT) ?? 'bytes';
    if (!isHspDataFormat(format)) {
      throw new InvalidMessageError(`Unknown data-format ${JSON.stringify(format)} (bytes, text:utf-8 or json:utf-8)`);
    }
    if (packet.headers.has(HSP_HEADER.STREAM) && !route.streams)
      throw new InvalidMessageError(`Route ${name} does not take stream requests`);
    return { request: { route: name, headers: packet.headers, payload: packet.payload, dataFormat: format }, route };
  }
}
