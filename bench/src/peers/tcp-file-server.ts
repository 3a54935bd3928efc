/**
 * Plain node:net upload baseline for the HSP benchmark: each connection's bytes are piped
 * into the file named by argv[2] (pipe = back-pressure); once the client half-closed and
 * every byte is in the file, it answers `{"bytes":N}\n` and closes. argv[3], optional: the
 * file stream's highWaterMark in bytes (default Node's, 16 KiB). Prints
 * `{"url":"tcp://127.0.0.1:PORT"}` once listening; exits on SIGTERM.
 */
import { createWriteStream } from 'node:fs';
import net, { type AddressInfo } from 'node:net';

const [target, queueBytes] = process.argv.slice(2);
if (!target) throw new Error('usage: tcp-file-server.js <target file> [highWaterMark]');

const server = net.createServer({ allowHalfOpen: true }, (socket) => {
  const file = createWriteStream(target, queueBytes ? { highWaterMark: Number(queueBytes) } : {});
  file.on('error', (error) => socket.destroy(error));
  file.on('finish', () => socket.end(`${JSON.stringify({ bytes: file.bytesWritten })}\n`));
  socket.pipe(file);
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `tcp://127.0.0.1:${port}` })}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
