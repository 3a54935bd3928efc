import { once } from 'node:events';

/** Writes to stdout, waiting when its buffer is full (a slow pipe never grows our memory). */
export async function writeOut(text: string | Buffer): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain');
}

export const writeErr = (text: string): void => {
  process.stderr.write(text);
};

/** Copies a stream of chunks to stdout, at stdout's pace. */
export async function copyOut(source: AsyncIterable<Buffer | string>): Promise<void> {
  for await (const chunk of source) await writeOut(chunk);
}
