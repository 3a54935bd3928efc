import { InvalidMetadataError } from '@spool/common';

/** Longest resource name. */
export const MAX_NAME_LENGTH = 512;
const SEGMENT = /^[A-Za-z0-9._~+@=-]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True if `ref` is shaped like a resource id (a UUID); anything else is looked up as a name. */
export function looksLikeId(ref: string): boolean {
  return UUID.test(ref);
}

/**
 * Checks a resource name: path-like segments (`ci/1234/build.log`) of letters, digits and
 * `. _ ~ + @ = -`, separated by single `/`, no `.`/`..` segment, at most 512 characters,
 * and not shaped like an id — so a name is usable in a URL path as it is, and a
 * reference is never ambiguous. Throws INVALID_METADATA naming the problem.
 */
export function validateResourceName(name: string): string {
  const problem =
    name.length === 0
      ? 'must not be empty'
      : name.length > MAX_NAME_LENGTH
        ? `must be at most ${MAX_NAME_LENGTH} characters`
        : looksLikeId(name)
          ? 'must not look like a resource id (a UUID)'
          : name.split('/').some((segment) => !SEGMENT.test(segment) || segment === '.' || segment === '..')
            ? 'must be segments of letters, digits and . _ ~ + @ = - separated by single slashes (no leading, trailing or double slash, no . or .. segment)'
            : undefined;
  if (problem) throw new InvalidMetadataError(`Invalid name ${JSON.stringify(name.slice(0, 80))}: ${problem}`, { name: name.slice(0, 80) });
  return name;
}
