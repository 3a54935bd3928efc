/**
 * Plain `ws` download baseline: on each connection, sends the file named by argv[2] as
 * 1 MiB binary messages (read with fs.createReadStream, at most 8 MiB handed to the
 * socket and not yet written out), then the text message `{ bytes, messages }`.
 */
import { createReadStream } from 'node:fs';
import type { PeerSummary } from './peer-common.js';
import { startPlainWsServer } from './peer-common.js';

const source = process.argv[2];
if (!source) throw new Error('usage: ws-send-file-server.js <source file>');
const MESSAGE_BYTES = 1024 * 1024;
const MAX_IN_FLIGHT_BYTES = 8 * MESSAGE_BYTES;

const server = await startPlainWsServer();
server.on('connection', (ws) => {
  const summary: PeerSummary = { bytes: 0, messages: 0 };
  let inFlightBytes = 0;
  const file = createReadStream(source, { highWaterMark: MESSAGE_BYTES });
  file.on('data', (chunk) => {
    const message = chunk as Buffer;
    summary.bytes += message.length;
    summary.messages++;
    inFlightBytes += message.length;
    ws.send(message, { binary: true }, () => {
      inFlightBytes -= message.length;
      if (file.isPaused() && inFlightBytes <= MAX_IN_FLIGHT_BYTES) file.resume();
    });
    if (inFlightBytes > MAX_IN_FLIGHT_BYTES) file.pause();
  });
  file.on('end', () => ws.send(JSON.stringify(summary)));
  file.on('error', (error) => ws.close(1011, error.message.slice(0, 100)));
  ws.on('close', () => file.destroy());
});
