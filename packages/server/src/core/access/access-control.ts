import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ForbiddenError, UnauthorizedError } from '@spool/common';
import type { Catalog } from '../catalog/catalog.js';

export type Role = 'admin' | 'uploader' | 'reader';
/** What a request wants to do. `list` without a context means listing everything. */
export type Permission = 'create' | 'write' | 'read' | 'list' | 'delete';

export interface ApiToken {
  name: string;
  role: Role;
  token: string;
}

/**
 * Who is asking: an API token's holder (with a role), a capability holder, anyone when
 * access control is off (`anonymous`), or — with access control on — nobody known, on a
 * public route (`unauthenticated`: allowed nothing).
 */
export type Principal =
  | { kind: 'anonymous' }
  | { kind: 'unauthenticated' }
  | { kind: 'api'; name: string; role: Role }
  | { kind: 'capability'; tokenHash: string; label: string };

export interface IssuedCapabilities {
  writeToken: string;
  readToken: string;
  writeTokenHash: string;
  readTokenHash: string;
}

const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  admin: ['create', 'write', 'read', 'list', 'delete'],
  uploader: ['create', 'write', 'read'],
  reader: ['read'],
};

/** Capability tokens carry their kind in a prefix; the rest is 32 random bytes. */
const WRITE_PREFIX = 'spw_';
const READ_PREFIX = 'spr_';

export const sha256Hex = (value: string) => createHash('sha256').update(value).digest('hex');

/** The part of a token safe to log: its kind and first characters, never the secret. */
export function tokenLabel(token: string): string {
  return `${token.slice(0, 8)}…`;
}

/**
 * Access control shared by every protocol, with the same rules everywhere: API tokens
 * from the configuration with roles, and per-resource capability tokens issued at
 * creation (a write token to resume/append/finish/delete, a read token to share). Only
 * hashes of capability tokens are stored. Off by default (single-user embedded start).
 */
export class AccessControl {
  private readonly apiTokens: { name: string; role: Role; hash: Buffer }[];

  constructor(
    readonly enabled: boolean,
    apiTokens: readonly ApiToken[],
    private readonly catalog: Catalog,
  ) {
    this.apiTokens = apiTokens.map((t) => ({ name: t.name, role: t.role, hash: createHash('sha256').update(t.token).digest() }));
  }

  /** Resolves a presented credential. With access control on, none or an unknown one → UnauthorizedError. */
  authenticate(credential: string | undefined): Principal {
    if (!this.enabled) return { kind: 'anonymous' };
    if (!credential) throw new UnauthorizedError('An access token is required (Authorization: Bearer <token> or ?token=<token>)');
    if (credential.startsWith(WRITE_PREFIX) || credential.startsWith(READ_PREFIX)) {
      return { kind: 'capability', tokenHash: sha256Hex(credential), label: tokenLabel(credential) };
    }
    const presented = createHash('sha256').update(credential).digest();
    // Compare against every token, always: no early exit that timing could reveal.
    let match: { name: string; role: Role } | undefined;
    for (const token of this.apiTokens) if (timingSafeEqual(token.hash, presented)) match = token;
    if (!match) throw new UnauthorizedError(`Unknown access token ${tokenLabel(credential)}`);
    return { kind: 'api', name: match.name, role: match.role };
  }

  /**
   * Throws ForbiddenError unless `principal` may do `permission` (on `resourceId`, for
   * capability tokens: a write token allows write/read/delete of its resource, a read
   * token read). Listing everything is admin-only; listing a context needs `read`.
   */
  async authorize(principal: Principal, permission: Permission, resourceId?: string): Promise<void> {
    if (principal.kind === 'anonymous') return;
    if (principal.kind === 'unauthenticated') throw new UnauthorizedError();
    if (principal.kind === 'api') {
      if (ROLE_PERMISSIONS[principal.role].includes(permission)) return;
      throw new ForbiddenError(`Token "${principal.name}" (${principal.role}) may not ${permission}`, { permission });
    }
    if (resourceId && (permission === 'read' || permission === 'write' || permission === 'delete')) {
      const record = await this.catalog.get(resourceId);
      const holds = (hash: string | null | undefined) => hash !== null && hash !== undefined && hash === principal.tokenHash;
      if (record && holds(record.writeTokenHash)) return;
      if (record && permission === 'read' && holds(record.readTokenHash)) return;
    }
    throw new ForbiddenError(`Token ${principal.label} does not allow ${permission}${resourceId ? ` of resource ${resourceId}` : ''}`, {
      permission,
    });
  }

  /** Fresh capability tokens for a new resource (null when access control is off). */
  issueCapabilities(): IssuedCapabilities | null {
    if (!this.enabled) return null;
    const writeToken = `${WRITE_PREFIX}${randomBytes(32).toString('base64url')}`;
    const readToken = `${READ_PREFIX}${randomBytes(32).toString('base64url')}`;
    return { writeToken, readToken, writeTokenHash: sha256Hex(writeToken), readTokenHash: sha256Hex(readToken) };
  }
}

/** How a principal appears in logs: never a secret. */
export function describePrincipal(principal: Principal): string {
  if (principal.kind === 'api') return `${principal.name} (${principal.role})`;
  if (principal.kind === 'capability') return `capability ${principal.label}`;
  return principal.kind;
}

/** The credential of a request: `Authorization: Bearer <token>`, else a `token` query parameter. */
export function credentialFrom(authorization: string | undefined, tokenParam: string | undefined): string | undefined {
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match) return match[1];
  }
  return tokenParam;
}

/** {@link credentialFrom} of a parsed request URL. */
export function credentialOf(headers: { authorization?: string | undefined }, url: URL): string | undefined {
  return credentialFrom(headers.authorization, url.searchParams.get('token') ?? undefined);
}
