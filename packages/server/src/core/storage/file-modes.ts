import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';

/** Modes of the data the server creates unless configured otherwise: private to its own user. */
export const DEFAULT_DATA_FILE_MODE = 0o600;
export const DEFAULT_DATA_DIR_MODE = 0o700;

/**
 * Creates `dir` (and missing parents) if it is missing, with exactly `mode` (the umask
 * could narrow it). An existing directory keeps the mode its owner gave it.
 */
export function createDirSync(dir: string, mode: number): void {
  if (mkdirSync(dir, { recursive: true, mode }) !== undefined) chmodSync(dir, mode);
}

/**
 * Gives `files` exactly `mode`, creating the first if it is missing; the others are
 * changed only if they exist. Files an older version made world-readable are narrowed.
 */
export function setFileModesSync(mode: number, [first, ...others]: readonly string[]): void {
  if (first !== undefined) {
    closeSync(openSync(first, 'a', mode));
    chmodSync(first, mode);
  }
  for (const file of others) if (existsSync(file)) chmodSync(file, mode);
}
