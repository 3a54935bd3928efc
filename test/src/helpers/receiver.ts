import { request as httpRequest } from 'node:http';

/** What a receiver of a pipe or a rendezvous stream got, and whether its answer ended cleanly. */
export interface Received {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** False when the answer was cut off (no terminating chunk, fewer bytes than announced). */
  complete: boolean;
}

/** A GET whose body is read as it comes; `slow` pauses after every chunk (back-pressure up to the sender). */
export function receive(url: string, options: { slow?: boolean; headers?: Record<string, string> } = {}): Promise<Received> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        if (options.slow) {
          res.pause();
          setTimeout(() => res.resume(), 2);
        }
      });
      const done = (complete: boolean) => () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), complete });
      res.on('end', done(true));
      res.on('aborted', done(false));
      res.on('error', done(false));
    });
    req.on('error', reject);
    req.end();
  });
}
