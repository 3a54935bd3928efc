/**
 * Plain node:http upload baseline: `PUT /` pipes the request body into the file named by
 * argv[2] (pipe = back-pressure) and answers 201 `{ bytes }` once it is all in the file.
 */
import { createWriteStream } from 'node:fs';
import { startPlainHttpServer } from './http-common.js';

const target = process.argv[2];
if (!target) throw new Error('usage: http-sink-server.js <target file>');

await startPlainHttpServer((request, response) => {
  const file = createWriteStream(target);
  file.on('error', (error) => response.writeHead(500).end(error.message));
  file.on('finish', () =>
    response.writeHead(201, { 'Content-Type': 'application/json' }).end(JSON.stringify({ bytes: file.bytesWritten })),
  );
  request.pipe(file);
});
