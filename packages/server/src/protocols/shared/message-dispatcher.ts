import type { z } from 'zod';
import type { AccessControl, Principal } from '../../core/access/access-control.js';
import { type AccessRule, requirementOf } from '../access-rule.js';
import { parseJsonMessage } from './parse-message.js';

/**
 * The messages a WebSocket endpoint accepts: their schema, the key naming their type,
 * and per type the access rule it needs. The same table is the endpoint's declaration
 * (`WebSocketEndpoint.messages`) and what its dispatcher enforces: a type without a rule
 * cannot be parsed, so it cannot reach a handler.
 */
export interface MessageTable<S extends z.ZodType> {
  readonly schema: S;
  readonly key: string;
  readonly rules: Readonly<Record<string, AccessRule<never>>>;
}

/**
 * Parses each text message of one connection and enforces its rule for the
 * connection's principal, then hands it to `handle`. Rules that need no lookup run
 * synchronously, so messages reach `handle` in the order they came.
 */
export class MessageDispatcher<S extends z.ZodType> {
  private readonly types: readonly string[];

  constructor(
    private readonly table: MessageTable<S>,
    private readonly access: AccessControl,
    private readonly principal: Principal,
  ) {
    this.types = Object.keys(table.rules);
  }

  /** Throws (or rejects) INVALID_MESSAGE, UNAUTHORIZED or FORBIDDEN; else returns what `handle` returns. */
  dispatch(text: string, handle: (message: z.infer<S>) => void | Promise<void>): void | Promise<void> {
    const message = parseJsonMessage(text, this.table.schema, this.table.key, this.types);
    const type = (message as Record<string, string>)[this.table.key] as string;
    const rule = this.table.rules[type] as AccessRule<z.infer<S>>;
    const requirement = requirementOf(this.principal, rule, message);
    if (!requirement) return handle(message); // synchronous on purpose: see the class comment
    return Promise.resolve(requirement)
      .then(({ permission, resourceId, owner }) => this.access.authorize(this.principal, permission, resourceId, owner))
      .then(() => handle(message));
  }
}
