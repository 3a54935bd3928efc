import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const made: string[] = [];
process.once('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory under the OS temp dir (`spool-<name>-…`), removed when the test process exits. */
export function freshTempDir(name: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `spool-${name}-`));
  made.push(dir);
  return dir;
}
