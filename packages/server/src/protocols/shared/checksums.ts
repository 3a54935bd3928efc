import { type ChecksumAlgorithm, InvalidMessageError, parseChecksumChoice } from '@spool/common';
import type { SpoolConfig } from '../../config/schema.js';

/**
 * The checksums a protocol's uploads compute unless the upload chooses: its own setting
 * (`httpUploadChecksum`, `tusUploadChecksum`) if set, else `uploadChecksums`.
 */
export function configuredChecksums(config: SpoolConfig, override?: string | undefined): ChecksumAlgorithm[] {
  return parseChecksumChoice(override ?? config.uploadChecksums);
}

/** A client's choice (`crc32,md5`, `none`), a bad one an INVALID_MESSAGE naming `what`. */
export function chosenChecksums(value: string, what: string): ChecksumAlgorithm[] {
  try {
    return parseChecksumChoice(value);
  } catch (err) {
    throw new InvalidMessageError(`${what}: ${(err as Error).message}`);
  }
}
