import { DEFAULT_BLOB_NAMESPACE, isBlobName, MAX_BLOB_NAME_LENGTH } from '@spool/common';
import type { Request } from 'express';
import { queryParam } from '../../transport/http/request-params.js';
import { invalidRequest } from './errors.js';

/**
 * Every blob is a core resource named `blob-sync/<user>/<namespace>/<blob id>`: unique
 * forever (a second PUT of an id is 409), listed and counted by name prefix through the
 * catalog's name index, and owned by `<user>` (see {@link blobOwnerOfName}).
 */
export const BLOB_NAME_ROOT = 'blob-sync';

/** A user's namespace. */
export interface BlobSpaceRef {
  readonly user: string;
  readonly namespace: string;
}

/** One blob. */
export interface BlobRef extends BlobSpaceRef {
  readonly id: string;
}

/** `blob-sync/<user>/`: every blob of a user (quota). */
export function userPrefix(user: string): string {
  return `${BLOB_NAME_ROOT}/${user}/`;
}

/** `blob-sync/<user>/<namespace>/`: the blobs of one namespace (listing). */
export function namespacePrefix(space: BlobSpaceRef): string {
  return `${userPrefix(space.user)}${space.namespace}/`;
}

/** The resource name of a blob. */
export function blobResourceName(blob: BlobRef): string {
  return `${namespacePrefix(blob)}${blob.id}`;
}

/**
 * The user a resource belongs to, for access control on every protocol: blobs are their
 * user's alone (`blob-sync/<user>/…` → `<user>`); other resources belong to nobody.
 */
export function blobOwnerOfName(name: string): string | undefined {
  if (!name.startsWith(`${BLOB_NAME_ROOT}/`)) return undefined;
  const user = name.slice(BLOB_NAME_ROOT.length + 1).split('/', 1)[0];
  return user === '' ? undefined : user;
}

/** A user, namespace or blob id as it came, or 400 saying which and why. */
function checkedName(value: string | undefined, what: string): string {
  if (value === undefined || !isBlobName(value)) {
    const shown = value === undefined ? 'nothing' : JSON.stringify(value.slice(0, MAX_BLOB_NAME_LENGTH + 1));
    throw invalidRequest(`The ${what} must be 1 to ${MAX_BLOB_NAME_LENGTH} letters, digits, _ or - (^[a-zA-Z0-9_-]+$), got ${shown}`);
  }
  return value;
}

/** A path parameter (express types allow arrays, for wildcards). */
function pathParam(req: Request, name: string): string | undefined {
  const value: unknown = req.params[name];
  return typeof value === 'string' ? value : undefined;
}

/** The raw `:user` of a path: what access control compares with the token's name. */
export function pathUser(req: Request): string {
  return pathParam(req, 'user') ?? '';
}

/** `:user` and `?namespace=` (default `default`), validated. */
export function blobSpaceOf(req: Request): BlobSpaceRef {
  return {
    user: checkedName(pathParam(req, 'user'), 'user'),
    namespace: checkedName(queryParam(req, 'namespace') ?? DEFAULT_BLOB_NAMESPACE, 'namespace'),
  };
}

/** `:user`, `:blobId` and `?namespace=`, validated. */
export function blobRefOf(req: Request): BlobRef {
  return { ...blobSpaceOf(req), id: checkedName(pathParam(req, 'blobId'), 'blob id') };
}

/** A blob of `space` by its id. */
export function blobIn(space: BlobSpaceRef, id: string): BlobRef {
  return { user: space.user, namespace: space.namespace, id };
}
