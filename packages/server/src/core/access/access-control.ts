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
 * Who is asking: an API token's holder (with a role), the holder of a resource's write or
 * read capability token, anyone when access control is off (`anonymous`), or — with access
 * control on — nobody known, on a public route (`unauthenticated`: allowed nothing).
 */
export type Principal =
  | { kind: 'anonymous' }
  | { kind: 'unauthenticated' }
  | { kind: 'api'; name: string; role: Role }
  | { kind: 'capability'; resourceId: string; access: CapabilityAccess; label: string };

/** What a capability token grants on its one resource. */
export type CapabilityAccess = 'write' | 'read';

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
/**
 * What an API token may do to what belongs to the user it is named after (a blob
 * namespace, see {@link OwnerOfName}): its own things it may also list and delete.
 */
const OWNER_PERMISSIONS: Record<Role, readonly Permission[]> = {
  admin: ['create', 'write', 'read', 'list', 'delete'],
  uploader: ['create', 'write', 'read', 'list', 'delete'],
  reader: ['read', 'list'],
};
const CAPABILITY_PERMISSIONS: Record<CapabilityAccess, readonly Permission[]> = {
  write: ['write', 'read', 'delete'],
  read: ['read'],
};

/**
 * The user a resource belongs to, read off its name (`blob-sync/<user>/…` → `<user>`), or
 * undefined for resources of nobody in particular (the default: every resource).
 */
export type OwnerOfName = (name: string) => string | undefined;

/** Capability tokens carry their kind in a prefix; the rest is 32 random bytes. */
const WRITE_PREFIX = 'spw_';
const READ_PREFIX = 'spr_';

export const sha256Hex = (value: string) => createHash('sha256').update(value).digest('hex');

/**
 * How a capability token appears in errors and logs: its kind and the first 8 hex digits
 * of its SHA-256 — the prefix of the hash the catalog stores, so an operator can find its
 * resource — never a character of the secret itself.
 */
export function capabilityLabel(access: CapabilityAccess, tokenHash: string): string {
  return `${access} token #${tokenHash.slice(0, 8)}`;
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
    /** Which resources belong to a user (by name); only that user's token, or an admin, may touch them. */
    private readonly ownerOfName?: OwnerOfName,
  ) {
    this.apiTokens = apiTokens.map((t) => ({ name: t.name, role: t.role, hash: createHash('sha256').update(t.token).digest() }));
  }

  /**
   * Resolves a presented credential. With access control on, none or an unknown one →
   * UnauthorizedError, whose message names no part of the credential (it may be a
   * mistyped secret). A capability token is known while its resource exists.
   */
  async authenticate(credential: string | undefined): Promise<Principal> {
    if (!this.enabled) return { kind: 'anonymous' };
    if (!credential) throw new UnauthorizedError('An access token is required (Authorization: Bearer <token> or ?token=<token>)');
    const presented = createHash('sha256').update(credential).digest();
    // Compare against every token, always: no early exit that timing could reveal.
    let match: { name: string; role: Role } | undefined;
    for (const token of this.apiTokens) if (timingSafeEqual(token.hash, presented)) match = token;
    if (match) return { kind: 'api', name: match.name, role: match.role };
    const claimed = credential.startsWith(WRITE_PREFIX) ? 'write' : credential.startsWith(READ_PREFIX) ? 'read' : undefined;
    if (claimed) {
      const tokenHash = presented.toString('hex');
      const record = await this.catalog.findByTokenHash(tokenHash);
      const access = record?.writeTokenHash === tokenHash ? 'write' : record?.readTokenHash === tokenHash ? 'read' : undefined;
      if (record && access) return { kind: 'capability', resourceId: record.id, access, label: capabilityLabel(access, tokenHash) };
    }
    throw new UnauthorizedError(claimed ? `Unknown ${claimed} token (its resource may have been deleted)` : 'Unknown access token');
  }

  /**
   * Throws ForbiddenError unless `principal` may do `permission` (on `resourceId`, for
   * capability tokens: a write token allows write/read/delete of its resource, a read
   * token read). Listing everything is admin-only; listing a context needs `read`.
   *
   * What belongs to a user — the `owner` a request names (a blob path's user), or a
   * resource whose name says it is that user's ({@link OwnerOfName}), whichever protocol
   * asks — only an admin or an API token named like that user may touch: an uploader
   * token everything of its own (listing and deleting included), a reader token read and
   * list. Capability tokens are never issued for such resources.
   */
  async authorize(principal: Principal, permission: Permission, resourceId?: string, owner?: string): Promise<void> {
    if (principal.kind === 'anonymous') return;
    if (principal.kind === 'unauthenticated') throw new UnauthorizedError();
    if (principal.kind === 'api') {
      if (principal.role === 'admin') return;
      const ownedBy = owner ?? (resourceId !== undefined ? await this.ownerOfResource(resourceId) : undefined);
      if (ownedBy !== undefined && ownedBy !== principal.name) {
        throw new ForbiddenError(`Token "${principal.name}" (${principal.role}) may not ${permission} what belongs to user "${ownedBy}"`, {
          permission,
        });
      }
      const allowed = ownedBy === undefined ? ROLE_PERMISSIONS : OWNER_PERMISSIONS;
      if (allowed[principal.role].includes(permission)) return;
      throw new ForbiddenError(`Token "${principal.name}" (${principal.role}) may not ${permission}`, { permission });
    }
    if (owner === undefined && resourceId === principal.resourceId && CAPABILITY_PERMISSIONS[principal.access].includes(permission)) return;
    const target = owner !== undefined ? ` of what belongs to user "${owner}"` : resourceId ? ` of resource ${resourceId}` : '';
    throw new ForbiddenError(`The ${principal.label} does not allow ${permission}${target}`, { permission });
  }

  /** The user `resourceId` belongs to, if any (one catalog read, only when some names are owned). */
  private async ownerOfResource(resourceId: string): Promise<string | undefined> {
    if (!this.ownerOfName) return undefined;
    const name = (await this.catalog.get(resourceId))?.name;
    return name ? this.ownerOfName(name) : undefined;
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
  if (principal.kind === 'capability') return `${principal.label} of resource ${principal.resourceId}`;
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
