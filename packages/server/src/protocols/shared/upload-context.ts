import { InvalidMessageError } from '@spool/common';

export const MAX_CONTEXT_ID_LENGTH = 256;

/** An upload context id as a protocol received it: none when absent or empty, refused when too long. */
export function validContextId(value: string | null | undefined): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (value.length > MAX_CONTEXT_ID_LENGTH) throw new InvalidMessageError(`context longer than ${MAX_CONTEXT_ID_LENGTH} characters`);
  return value;
}
