/**
 * Plain node:http download baseline: `GET /` streams the file named by argv[2] with
 * fs.createReadStream piped into the response; one `Range: bytes=a-b` is honoured (206).
 */
import { createReadStream, statSync } from 'node:fs';
import { startPlainHttpServer } from './http-common.js';

const source = process.argv[2];
if (!source) throw new Error('usage: http-file-server.js <source file>');
const size = statSync(source).size;

await startPlainHttpServer((request, response) => {
  const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
  let start = 0;
  let end = size - 1;
  if (range) {
    start = Number(range[1]);
    end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
    if (start > end) {
      response.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
      return;
    }
    response.writeHead(206, {
      'Content-Length': end - start + 1,
      'Content-Range': `bytes ${start}-${end}/${size}`,
      'Content-Type': 'text/plain',
    });
  } else {
    response.writeHead(200, { 'Content-Length': size, 'Content-Type': 'text/plain' });
  }
  const file = createReadStream(source, { start, end });
  file.on('error', () => response.destroy());
  file.pipe(response);
});
