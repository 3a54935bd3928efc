import { describeZodError, InvalidMessageError } from '@spool/common';
import type { z } from 'zod';

/**
 * Parses one JSON control message against a union discriminated by `key` (`"@"` in
 * Step's protocol, `"type"` in Spool's): malformed JSON, an unknown type and a message
 * the schema refuses are each an INVALID_MESSAGE naming what was wrong.
 */
export function parseJsonMessage<S extends z.ZodType>(text: string, schema: S, key: string, accepted: readonly string[]): z.infer<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidMessageError(`Malformed JSON: ${(err as Error).message}`);
  }
  const type = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  if (typeof type !== 'string' || !accepted.includes(type)) {
    throw new InvalidMessageError(`Unknown message type ${JSON.stringify(type ?? null)}; expected one of ${accepted.join(', ')}`, {
      type: type ?? null,
    });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new InvalidMessageError(`Invalid ${type}: ${describeZodError(parsed.error)}`);
  return parsed.data;
}
