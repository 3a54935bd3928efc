/**
 * Plain node:http gzip baseline: `GET /` streams the file named by argv[2] through
 * zlib.createGzip (level argv[3], default 6) when the request accepts gzip — the floor
 * of what serving a log compressed costs, without Spool around it.
 */
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream';
import { createGzip } from 'node:zlib';
import { startPlainHttpServer } from './http-common.js';

const source = process.argv[2];
const level = Number(process.argv[3] ?? 6);
if (!source) throw new Error('usage: http-gzip-file-server.js <source file> [level]');

await startPlainHttpServer((request, response) => {
  const gzip = /\bgzip\b/.test(request.headers['accept-encoding'] ?? '');
  response.writeHead(200, { 'Content-Type': 'text/plain', ...(gzip ? { 'Content-Encoding': 'gzip' } : {}) });
  const file = createReadStream(source);
  if (gzip) pipeline(file, createGzip({ level }), response, () => undefined);
  else pipeline(file, response, () => undefined);
});
