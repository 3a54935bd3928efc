/**
 * Plain `ws` upload baseline: writes the payload of binary messages to the file named by
 * argv[2] with back-pressure (the socket is paused while the file stream's buffer is
 * full), and answers the text message "end", once everything is written to the file,
 * with `{ bytes, messages }`.
 */
import { createWriteStream } from 'node:fs';
import type { RawData } from 'ws';
import { END_COMMAND, type PeerSummary, rawDataLength, startPlainWsServer } from './peer-common.js';

const target = process.argv[2];
if (!target) throw new Error('usage: ws-file-server.js <target file>');

const server = await startPlainWsServer();
server.on('connection', (ws) => {
  const file = createWriteStream(target);
  const summary: PeerSummary = { bytes: 0, messages: 0 };
  file.on('error', (error) => ws.close(1011, error.message.slice(0, 100)));
  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (isBinary) {
      summary.bytes += rawDataLength(data);
      summary.messages++;
      const parts = Array.isArray(data) ? data : [Buffer.isBuffer(data) ? data : Buffer.from(data)];
      let belowHighWaterMark = true;
      for (const part of parts) belowHighWaterMark = file.write(part);
      if (!belowHighWaterMark && !ws.isPaused) {
        ws.pause();
        file.once('drain', () => ws.resume());
      }
    } else if (data.toString() === END_COMMAND) {
      // The last write may have paused the socket with no 'drain' to come: resume, or the close frame is never read.
      file.end(() => {
        ws.resume();
        ws.send(JSON.stringify(summary));
      });
    }
  });
});
