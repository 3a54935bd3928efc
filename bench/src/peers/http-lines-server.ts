/**
 * Plain node:http line-page baseline: `GET /lines?start=S&count=N` answers the same JSON
 * page as Spool (`{start, count, totalLines, state, lines}`), computed from the benchmark
 * data in memory — no file, no index, no framework: the floor of one HTTP round trip
 * plus JSON on this machine, to read Spool's line-page latency against.
 * argv[2]: the total number of lines of the log.
 */
import { Pattern } from '../pattern.js';
import { startPlainHttpServer } from './http-common.js';

const totalLines = Number(process.argv[2]);
if (!Number.isSafeInteger(totalLines) || totalLines <= 0) throw new Error('usage: http-lines-server.js <total lines>');
const pattern = new Pattern();

await startPlainHttpServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const start = Number(url.searchParams.get('start'));
  const count = Number(url.searchParams.get('count'));
  if (url.pathname !== '/lines' || !Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0 || count <= 0) {
    response.writeHead(400, { 'Content-Type': 'application/json' }).end('{"error":{"code":"INVALID_RANGE","message":"bad page"}}');
    return;
  }
  const lines = pattern.linesAt(start, Math.min(count, totalLines - start));
  const body = JSON.stringify({ start, count: lines.length, totalLines, state: 'COMPLETED', lines });
  response.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  response.end(body);
});
