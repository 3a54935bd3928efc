import { createHash, timingSafeEqual } from 'node:crypto';
import { UnauthorizedError } from '@spool/common';
import type { AccessControl, Permission, Principal } from '../core/access/access-control.js';

/** What one request needs: a permission, on a resource when it names one. */
export interface Requirement {
  readonly permission: Permission;
  readonly resourceId?: string | undefined;
  /** The user whose things the request touches (a blob path's user): only they, or an admin, may. */
  readonly owner?: string | undefined;
}

/**
 * What an HTTP route, a WebSocket endpoint or message, or a TCP request needs before its
 * handler runs. Every entry of a protocol's table names one; the dispatcher of that table
 * enforces it through {@link authorizeRule}, so a handler cannot be reached without it.
 *
 * - `public`: no credential needed (health, ping). The reason is part of the
 *   documented public list (docs/access-control.md).
 * - `authenticated`: any valid credential; what it may do is checked per message (a
 *   WebSocket upload connection: `create` and `resume` need different permissions).
 * - `inherited`: a message covered by what its connection or session was already
 *   authorized for (a `finish` of the upload this connection opened).
 * - `requires`: a permission, on the resource the request names.
 */
export type AccessRule<R> =
  | { readonly kind: 'public'; readonly why: string }
  | { readonly kind: 'authenticated'; readonly why: string }
  | { readonly kind: 'inherited'; readonly why: string }
  | { readonly kind: 'secret'; readonly why: string; readonly matches: (credential: string | undefined) => boolean }
  | { readonly kind: 'requires'; readonly needs: string; readonly requirement: (request: R) => Requirement | Promise<Requirement> };

export const publicAccess = <R>(why: string): AccessRule<R> => ({ kind: 'public', why });
export const authenticated = <R>(why: string): AccessRule<R> => ({ kind: 'authenticated', why });
export const inherited = <R>(why: string): AccessRule<R> => ({ kind: 'inherited', why });

/**
 * Only `secret` itself lets a request through, whatever the access control (a scraper's
 * token for `/metrics`): compared in constant time; anything else is UNAUTHORIZED.
 */
export function secretAccess<R>(why: string, secret: string): AccessRule<R> {
  const expected = createHash('sha256').update(secret).digest();
  return {
    kind: 'secret',
    why,
    matches: (credential) => credential !== undefined && timingSafeEqual(createHash('sha256').update(credential).digest(), expected),
  };
}

/**
 * `permission`, on the resource `resourceOf` names (none: a permission not tied to one
 * resource). `resourceOf` may look the resource up (a name resolved to its id): the
 * handler should reuse that lookup, so the rule and the handler see the same resource.
 */
export function requires<R>(
  permission: Permission,
  resourceOf?: (request: R) => string | undefined | Promise<string | undefined>,
): AccessRule<R> {
  return {
    kind: 'requires',
    needs: permission,
    requirement: (request) => {
      const resourceId = resourceOf?.(request);
      return resourceId instanceof Promise ? resourceId.then((id) => ({ permission, resourceId: id })) : { permission, resourceId };
    },
  };
}

/**
 * `permission` on what belongs to the user `ownerOf` names (their blobs): an API token
 * named like that user, or an admin (AccessControl.authorize). `needs` as the table shows it.
 */
export function requiresOwner<R>(permission: Permission, ownerOf: (request: R) => string, needs = `${permission} (own)`): AccessRule<R> {
  return { kind: 'requires', needs, requirement: (request) => ({ permission, owner: ownerOf(request) }) };
}

/** A permission that depends on the request (listing everything vs. one upload context); `needs` says how. */
export function requiresDecided<R>(needs: string, decide: (request: R) => Requirement): AccessRule<R> {
  return { kind: 'requires', needs, requirement: decide };
}

/**
 * Who presented `credential`. With access control on, none or an unknown one is
 * UNAUTHORIZED — except on a public entry, whose handler then sees `unauthenticated`
 * (which no `authorize` call lets through).
 */
export async function authenticateFor<R>(access: AccessControl, rule: AccessRule<R>, credential: string | undefined): Promise<Principal> {
  if (rule.kind === 'secret') {
    if (rule.matches(credential)) return { kind: 'anonymous' };
    throw new UnauthorizedError(`This path needs its own token: ${rule.why}`);
  }
  if (rule.kind !== 'public' || !access.enabled) return await access.authenticate(credential);
  if (credential === undefined) return { kind: 'unauthenticated' };
  try {
    return await access.authenticate(credential);
  } catch (err) {
    if (err instanceof UnauthorizedError) return { kind: 'unauthenticated' };
    throw err;
  }
}

/**
 * The part of `rule` that needs no lookup, checked synchronously (UNAUTHORIZED when
 * nobody is known); returns the requirement still to check, if any (a promise when the
 * rule looks its resource up).
 */
export function requirementOf<R>(principal: Principal, rule: AccessRule<R>, request: R): Requirement | Promise<Requirement> | undefined {
  switch (rule.kind) {
    case 'public':
    case 'secret':
      return undefined;
    case 'authenticated':
    case 'inherited':
      if (principal.kind === 'unauthenticated') throw new UnauthorizedError();
      return undefined;
    case 'requires':
      return rule.requirement(request);
  }
}

/**
 * THE authorization point of every protocol: throws UNAUTHORIZED / FORBIDDEN unless
 * `principal` passes `rule` for `request`. `inherited` passes only where the caller
 * vouches that an earlier check covered it (the dispatcher of a connection's messages).
 */
export async function authorizeRule<R>(access: AccessControl, principal: Principal, rule: AccessRule<R>, request: R): Promise<void> {
  const requirement = await requirementOf(principal, rule, request);
  if (requirement) await access.authorize(principal, requirement.permission, requirement.resourceId, requirement.owner);
}

/** Authenticates and authorizes in one step (HTTP requests, TCP requests, WebSocket upgrades). */
export async function enforce<R>(
  access: AccessControl,
  rule: AccessRule<R>,
  credential: string | undefined,
  request: R,
): Promise<Principal> {
  const principal = await authenticateFor(access, rule, credential);
  await authorizeRule(access, principal, rule, request);
  return principal;
}

/** One line for docs and tests: `public (health)`, `read`, `list or read` … */
export function describeRule<R>(rule: AccessRule<R>): string {
  return rule.kind === 'requires' ? rule.needs : `${rule.kind} (${rule.why})`;
}
