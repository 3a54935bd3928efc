import { z } from 'zod';

/** `type/subtype` with the characters the Step Java side accepts (no parameters). */
export const MIME_TYPE_PATTERN = /^[a-zA-Z0-9!#$&^_.+-]+\/[a-zA-Z0-9!#$&^_.+-]+$/;

export const ResourceMetadataSchema = z.object({
  filename: z
    .string()
    .min(1, 'filename must not be empty')
    .max(1024, 'filename longer than 1024 characters')
    .refine((s) => !/[\0/\\]/.test(s), 'filename must not contain NUL or path separators'),
  mimeType: z.string().regex(MIME_TYPE_PATTERN, 'mimeType must look like type/subtype (no parameters)'),
  supportsLineAccess: z.boolean(),
});
export type ResourceMetadata = z.infer<typeof ResourceMetadataSchema>;

/** Formats zod issues as one sentence a person can act on. */
export function describeZodError(error: z.ZodError): string {
  return error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}
